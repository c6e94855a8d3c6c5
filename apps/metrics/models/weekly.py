from django.db import models

from apps.metrics.models.base import TeamOwnedModel


class WeeklyMetrics(TeamOwnedModel):
    """One member's aggregates for one ISO week (week_start is a Monday)."""

    member = models.ForeignKey("metrics.TeamMember", on_delete=models.CASCADE, related_name="weekly_metrics")
    week_start = models.DateField()
    prs_merged = models.IntegerField(default=0)
    avg_cycle_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    avg_review_time_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    commits_count = models.IntegerField(default=0)
    lines_added = models.IntegerField(default=0)
    lines_removed = models.IntegerField(default=0)
    revert_count = models.IntegerField(default=0)
    hotfix_count = models.IntegerField(default=0)
    ai_assisted_prs = models.IntegerField(default=0)
    avg_quality_rating = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    surveys_completed = models.IntegerField(default=0)
    guess_accuracy = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name_plural = "weekly metrics"
        constraints = [
            models.UniqueConstraint(fields=["team", "member", "week_start"], name="weekly_unique_member_week")
        ]

    def __str__(self) -> str:
        return f"week {self.week_start} member {self.member_id}"
