from __future__ import annotations

from collections.abc import Collection
from typing import Any

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
    # Bots are left out of the dashboard's people-facing cards; set for GitHub app logins ("…[bot]") on
    # creation and when the login changes, and by hand for other automation accounts.
    # db_default too, so rows inserted in SQL (bench datasets, raw imports) get False as well.
    is_bot = models.BooleanField(
        default=False, db_default=False, help_text="Automation account: left out of the per-person cards."
    )

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

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any]) -> TeamMember:
        instance = super().from_db(db, field_names, values)
        # The login as stored, so save() can tell whether it changed without a query.
        instance._stored_login = instance.__dict__.get("github_username")
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        stored = getattr(self, "_stored_login", None)
        if self._state.adding or stored != self.github_username:
            # A flag that came from the old login follows the login; one set by hand on a plain login stays.
            was_automatic = stored is not None and is_bot_login(stored)
            self.is_bot = is_bot_login(self.github_username) or (self.is_bot and not was_automatic)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "github_username" in update_fields:
                kwargs["update_fields"] = {*update_fields, "is_bot"}
        super().save(*args, **kwargs)
        self._stored_login = self.github_username

    @property
    def avatar_url(self) -> str:
        return f"https://github.com/{self.github_username}.png?size=64" if self.github_username else ""

    @property
    def initials(self) -> str:
        return initials_for(self.display_name, self.github_username)


def is_bot_login(github_username: str) -> bool:
    """A GitHub app's login ("dependabot[bot]", "Renovate[Bot]"): GitHub gives every app account that suffix."""
    return github_username.strip().lower().endswith("[bot]")


def initials_for(display_name: str, github_username: str = "") -> str:
    """Up to two letters: first and last word of the name, else the login's first two."""
    words = display_name.split()
    if len(words) >= 2:
        return (words[0][0] + words[-1][0]).upper()
    if words:
        return words[0][:2].upper()
    return github_username[:2].upper()
