from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models, transaction
from django.db.models import OuterRef
from waffle.models import AbstractUserFlag

from flags.registry import ROLLOUT_FLAGS
from flags.store import STORE, generation_name, next_version
from flags.tracking import record_evaluation
from tformance import generations

if TYPE_CHECKING:
    from django.http import HttpRequest

    from apps.teams.models import Team

# The rollout permissions (Flag.Meta), as `user.has_perm` takes them.
CHANGE_ROLLOUT = "flags.change_rollout"
FORCE_ROLLOUT = "flags.force_rollout"


class Flag(AbstractUserFlag):
    """waffle's flag with per-team switches (WAFFLE_FLAG_MODEL = "flags.Flag").

    For registered rollout flags, whether the flag is on is decided per team
    (see decide()); users, groups, superusers and waffle's random percentage
    play no part. Other flag names keep waffle's behaviour.
    """

    teams = models.ManyToManyField(
        "teams.Team", blank=True, related_name="flags", help_text="On for these teams."
    )
    blocked_teams = models.ManyToManyField(
        "teams.Team",
        blank=True,
        related_name="blocked_flags",
        help_text="Off for these teams whatever the percentage or everyone says (per-team rollback).",
    )
    # Grows on every change of the row or its team lists (a database sequence): what processes re-check.
    version = models.BigIntegerField(default=0, editable=False)

    # Set by flags.signals before a save, for that save's audit entry (not a field).
    _flags_previous_mode: str | None

    class Meta(AbstractUserFlag.Meta):
        # Plain strings where waffle's are lazy translations (which is all the stubs allow).
        verbose_name = "Flag"  # type: ignore[assignment]
        verbose_name_plural = "Flags"  # type: ignore[assignment]
        # The operator's rollout permissions live with the flags that enforce them (flags never
        # knows shadow); shadow's console permissions are on shadow's models (docs/architecture.md).
        permissions = [
            ("change_rollout", "Can enable, disable, kill or restore a rollout flag for teams and change sampling rates"),
            ("force_rollout", "Can force a rollout flag on past the readiness gate"),
        ]

    # --- caching -----------------------------------------------------------------

    @classmethod
    def _cache_key(cls, name: str) -> str:
        # waffle's cached flag, stamped with the flag's generation (see flags.generations).
        return generations.stamped(super()._cache_key(name), generation_name(name))

    @classmethod
    def get(cls, name: str) -> Flag:
        if generations.cache_usable(generation_name(name)):
            return super().get(name)
        # This connection changed the flag and has not committed: read it, cache nothing.
        try:
            return cls.get_from_db(name)
        except cls.DoesNotExist:
            return cls(name=name)

    def flush(self) -> None:
        # waffle calls this on commit of a save or delete.
        generations.bump(generation_name(self.name))
        super().flush()

    def mark_changed(self) -> None:
        """Record a change: a new version in this transaction, this process's copy expired on commit."""
        if self.pk:
            next_version(self.pk)
        generations.changed(generation_name(self.name))
        transaction.on_commit(STORE.expire)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self.mark_changed()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self.mark_changed()
        return result

    def team_id_sets_from_db(self) -> tuple[frozenset[int], frozenset[int]]:
        """(listed team ids, blocked team ids) as stored now: one query, both lists, no join between them."""
        if not self.pk:
            return frozenset(), frozenset()
        listed, blocked = (
            Flag.objects.filter(pk=self.pk)
            .annotate(
                listed=ArraySubquery(Flag.teams.through.objects.filter(flag_id=OuterRef("pk")).values("team_id")),
                blocked=ArraySubquery(
                    Flag.blocked_teams.through.objects.filter(flag_id=OuterRef("pk")).values("team_id")
                ),
            )
            .values_list("listed", "blocked")
            .get()
        )
        return frozenset(listed), frozenset(blocked)

    # --- evaluation --------------------------------------------------------------

    def is_on_for_team(self, team: Team | None) -> bool:
        """As this process's flag store has it (not this instance's fields, which waffle may have cached)."""
        state = STORE.state(self.name)
        return state is not None and state.is_on(getattr(team, "pk", None))

    def is_active(self, request: HttpRequest, read_only: bool = False) -> bool | None:
        """waffle's entry point (flag_is_active, template tags): rollout flags answer for request.team."""
        if self.name not in ROLLOUT_FLAGS:
            return super().is_active(request, read_only=read_only)
        result = self.is_on_for_team(getattr(request, "team", None))
        record_evaluation(self.name, result)
        return result


class FlagAuditQuerySet(models.QuerySet["FlagAudit"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("Flag audit entries are append-only")

    def delete(self) -> NoReturn:
        raise TypeError("Flag audit entries are append-only")


class FlagAudit(models.Model):
    """One change of a flag's state: who, when, which team (or all), before → after, why.

    Append-only: the model refuses updates and deletes, and a database trigger
    refuses them for any other path. Teams are kept by id and slug, not by
    foreign key, so history outlives the team.
    """

    ALL_TEAMS = "all"

    flag_name = models.CharField(max_length=100, db_index=True)
    team_id = models.BigIntegerField(null=True, blank=True, help_text="Empty: the change applies to all teams.")
    team_slug = models.CharField(max_length=100, blank=True)
    actor = models.CharField(max_length=150, help_text='"user:<name>", "cli:<os user>" or "system:<reason>"')
    before = models.CharField(max_length=100)
    after = models.CharField(max_length=100)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = FlagAuditQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "flag audit entry"
        verbose_name_plural = "flag audit log"

    def __str__(self) -> str:
        return f"{self.flag_name} [{self.scope}] {self.before} → {self.after} by {self.actor}"

    @property
    def scope(self) -> str:
        return self.team_slug or (self.ALL_TEAMS if self.team_id is None else str(self.team_id))

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Flag audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("Flag audit entries are append-only")
