from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.metrics.models.base import TeamOwnedModel


class TeamMember(TeamOwnedModel):
    """A person whose work is measured (not necessarily a login of this app)."""

    class Role(models.TextChoices):
        DEVELOPER = "developer", "Developer"
        LEAD = "lead", "Lead"
        ADMIN = "admin", "Admin"

    email = models.EmailField(blank=True)
    display_name = models.CharField(max_length=200)
    github_username = models.CharField(max_length=100, blank=True, db_index=True)
    github_id = models.CharField(max_length=50, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DEVELOPER)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "github_id"],
                condition=~Q(github_id=""),
                name="teammember_unique_team_github_id",
            )
        ]
        # The performance plan's indexes (migration 0002, built concurrently).
        indexes = [
            models.Index(fields=["team", "github_username"], name="member_team_gh_username_idx"),
            models.Index(fields=["team", "is_active"], name="member_team_active_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def avatar_url(self) -> str:
        return f"https://github.com/{self.github_username}.png?size=64" if self.github_username else ""

    @property
    def initials(self) -> str:
        return initials_for(self.display_name, self.github_username)


def initials_for(display_name: str, github_username: str = "") -> str:
    """Up to two letters: first and last word of the name, else the login's first two."""
    words = display_name.split()
    if len(words) >= 2:
        return (words[0][0] + words[-1][0]).upper()
    if words:
        return words[0][:2].upper()
    return github_username[:2].upper()
