from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from apps.metrics.models.base import TeamOwnedModel

TWO_PLACES = Decimal("0.01")


def acceptance_rate(shown: int, accepted: int) -> Decimal | None:
    """accepted ÷ shown × 100, two decimals (half up); None when nothing was shown."""
    if not shown:
        return None
    return (Decimal(accepted) * 100 / Decimal(shown)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


class AIUsageDaily(TeamOwnedModel):
    class Source(models.TextChoices):
        COPILOT = "copilot", "Copilot"
        CURSOR = "cursor", "Cursor"

    member = models.ForeignKey("metrics.TeamMember", on_delete=models.CASCADE, related_name="ai_usage")
    date = models.DateField()
    source = models.CharField(max_length=10, choices=Source.choices)
    suggestions_shown = models.IntegerField(default=0)
    suggestions_accepted = models.IntegerField(default=0)
    acceptance_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    active_hours = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "member", "date", "source"], name="aiusage_unique_member_day_source")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.date} member {self.member_id}"
