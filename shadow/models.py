from __future__ import annotations

import shlex
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from shadow import codec, pairs
from shadow.diff import DEFAULT_PERSONAL_FIELDS, REDACTED, describe_arguments, redact_value
from shadow.errors import ShadowError

# The console's permissions (see DailyEvidence.Meta and ShadowRecord.Meta), as `user.has_perm` takes them.
VIEW_EVIDENCE = "shadow.view_evidence"
VIEW_PERSONAL = "shadow.view_personal"
# The key under which shadow.codec.describe_call stores the call's team (by id) among a record's arguments.
TEAM_ID = "team_id"

# Histogram bucket upper bounds; the last bucket takes everything above. p50/p95 are read from these.
MS_BUCKETS: tuple[float, ...] = (
    0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
)
QUERY_BUCKETS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000)


def empty_ms_histogram() -> list[int]:
    return [0] * (len(MS_BUCKETS) + 1)


def empty_query_histogram() -> list[int]:
    return [0] * (len(QUERY_BUCKETS) + 1)


class SamplingRate(models.Model):
    """A run-time sampling rate for one pair: for all teams (team empty) or one team."""

    pair_name = models.CharField(max_length=100)
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    rate = models.DecimalField(
        max_digits=5, decimal_places=4, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of calls compared, 0 to 1 (0.01 = 1 %).",
    )
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair_name", "team"], name="sampling_unique_pair_team"),
            models.UniqueConstraint(fields=["pair_name"], condition=Q(team__isnull=True), name="sampling_unique_pair_default"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=1), name="sampling_rate_between_0_and_1"),
        ]

    def __str__(self) -> str:
        return f"{self.pair_name} {'team ' + str(self.team_id) if self.team_id else 'all teams'}: {self.rate}"


class DailyEvidence(models.Model):
    """Per pair, team, day and code revisions: what sampled comparisons found, and how both sides performed.

    Written by one upsert per sampled call (shadow.reporters.upsert_day).

    Carries the `view_evidence` permission (the console), as ShadowRecord
    carries `view_personal`: each permission sits on the model whose rows it
    opens, in the app whose pages check it, so an operator's group reads
    "shadow | daily evidence | Can see the shadow console …". The rollout
    permissions (change_rollout, force_rollout) are flags' (flags.models.Flag),
    since flags enforces them and never knows shadow.
    """

    pair_name = models.CharField(max_length=100)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # The code both sides ran (shadow.revisions): the gate counts only the current revisions' rows.
    legacy_revision = models.CharField(max_length=40, default="", blank=True)
    optimized_revision = models.CharField(max_length=40, default="", blank=True)
    runs = models.IntegerField(default=0)
    matches = models.IntegerField(default=0)
    mismatches = models.IntegerField(default=0)
    ignored_differences = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    timeouts = models.IntegerField(default=0)
    # The shadow side was blocked by a row lock: counted, but neither a comparison nor an error.
    inconclusive = models.IntegerField(default=0)
    # A cached pair's entry differed from a fresh computation of the same call: not a mismatch.
    stale_cache = models.IntegerField(default=0)
    # While the optimized side served: what counts towards the guarded rollback.
    optimized_served_mismatches = models.IntegerField(default=0)
    optimized_errors = models.IntegerField(default=0)
    legacy_ms_histogram = ArrayField(models.IntegerField(), default=empty_ms_histogram)
    optimized_ms_histogram = ArrayField(models.IntegerField(), default=empty_ms_histogram)
    legacy_queries_histogram = ArrayField(models.IntegerField(), default=empty_query_histogram)
    optimized_queries_histogram = ArrayField(models.IntegerField(), default=empty_query_histogram)
    legacy_ms_total = models.FloatField(default=0)
    optimized_ms_total = models.FloatField(default=0)
    legacy_queries_total = models.BigIntegerField(default=0)
    optimized_queries_total = models.BigIntegerField(default=0)
    measured_runs = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "daily evidence"
        permissions = [("view_evidence", "Can see the shadow console: evidence, flag states and records")]
        constraints = [
            models.UniqueConstraint(
                fields=["pair_name", "team", "day", "legacy_revision", "optimized_revision"],
                name="evidence_unique_pair_team_day_revisions",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pair_name} team {self.team_id} {self.day}"

    @property
    def comparisons(self) -> int:
        return self.matches + self.mismatches


@dataclass(frozen=True)
class DifferenceRow:
    """One difference of a record, for a two-column table: its path and each side's value as text.

    `legacy` and `optimized` are None for records stored before the sides were kept; `line` (the
    whole difference on one line) stands in for them then.
    """

    path: str
    legacy: str | None
    optimized: str | None
    line: str


class ShadowRecord(models.Model):
    """One mismatch, error, timeout, inconclusive or stale-cache run, with the full (unredacted) diff.

    Each difference is stored as one line and as its two sides, each in full
    (`line`, `legacy`, `optimized`) and as Sentry gets it (`redacted`,
    `legacy_redacted`, `optimized_redacted`); `error_redacted` is the error
    without exception messages. A stale-cache record's sides are the cached
    entry and the fresh value (side_labels). Who lacks `view_personal` sees
    only the redacted forms (differences(), difference_rows(), error_shown(),
    arguments(), arguments_text()); rows from before the redacted forms were
    stored show [redacted] in their place, rows from before the sides were
    stored show only their line.
    """

    class Outcome(models.TextChoices):
        MISMATCH = "mismatch", "Mismatch"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timeout"
        INCONCLUSIVE = "inconclusive", "Inconclusive"
        STALE_CACHE = "stale_cache", "Stale cache"

    pair_name = models.CharField(max_length=100, db_index=True)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    served = models.CharField(max_length=10, help_text='"legacy", "optimized", or "none" for on-demand comparisons')
    diff = models.JSONField(default=list, help_text="Differences: [{path, line (unredacted), redacted (as Sentry gets it)}]")
    error = models.TextField(blank=True)
    error_redacted = models.TextField(
        blank=True, help_text="The error as Sentry gets it: failed sides and exception types, no messages"
    )
    legacy_measurement = models.JSONField(null=True, blank=True)
    optimized_measurement = models.JSONField(null=True, blank=True)
    call_arguments = models.JSONField(default=dict)
    legacy_revision = models.CharField(max_length=40, default="", blank=True)
    optimized_revision = models.CharField(max_length=40, default="", blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("view_personal", "Can see unredacted personal values in shadow differences and arguments")]

    def __str__(self) -> str:
        # The team's slug costs a query unless the team was selected with the record (the admin does).
        return f"{self.get_outcome_display()} in {self.pair_name} for {self.team.slug}"

    @property
    def side_labels(self) -> tuple[str, str]:
        """What the two sides of each difference are: ("Legacy", "Optimized"), or ("Cached", "Fresh")."""
        return ("Cached", "Fresh") if self.outcome == self.Outcome.STALE_CACHE else ("Legacy", "Optimized")

    def difference_rows(self, *, personal: bool) -> list[DifferenceRow]:
        """Each difference as a row; without `personal`, only the forms Sentry gets."""
        rows = []
        for item in self.diff:
            path = item.get("path") or "<root>"
            line = item["line"] if personal else item.get("redacted") or f"{path}: {REDACTED}"
            if "legacy" in item and "optimized" in item:
                legacy = item["legacy"] if personal else item.get("legacy_redacted", REDACTED)
                optimized = item["optimized"] if personal else item.get("optimized_redacted", REDACTED)
            else:
                legacy = optimized = None
            rows.append(DifferenceRow(path=path, legacy=legacy, optimized=optimized, line=line))
        return rows

    def differences(self, *, personal: bool) -> list[str]:
        """Each difference on one line (`[0].total: 14 != 15`)."""
        return [row.line for row in self.difference_rows(personal=personal)]

    def error_shown(self, *, personal: bool) -> str:
        if personal or not self.error:
            return self.error
        return self.error_redacted or REDACTED

    def personal_fields(self) -> frozenset[str]:
        """The keys whose values are personal: the default ones and, while the pair is registered, its own."""
        if self.pair_name in pairs.names():
            return DEFAULT_PERSONAL_FIELDS | pairs.get(self.pair_name).rules.personal_fields
        return DEFAULT_PERSONAL_FIELDS

    def arguments(self, *, personal: bool) -> dict[str, Any]:
        """The call's arguments as stored; without `personal`, the values of personal keys redacted."""
        if personal:
            return dict(self.call_arguments)
        redacted: dict[str, Any] = redact_value(self.call_arguments, self.personal_fields())
        return redacted

    def call_kwargs(self) -> dict[str, Any]:
        """The call's keyword arguments by name, decoded (dates, Decimals, registered dataclasses), without the team.

        Raises ShadowError for an argument of a type no longer registered with shadow.codec.
        """
        return {key: codec.decode(value) for key, value in self._stored_arguments()}

    def arguments_text(self, *, personal: bool) -> str:
        """The call's arguments in plain words, as `rollout verify` prints them: `end=2024-05-31, limit=10`.

        Without `personal`, the values of personal keys (and of personal keys inside them) redacted.
        The team is left out: the record names it.
        """
        kwargs = {}
        for key, value in self._stored_arguments():
            try:
                kwargs[key] = codec.decode(value)
            except ShadowError:
                # An argument type no longer registered: shown as stored.
                kwargs[key] = value
        return describe_arguments(kwargs, None if personal else self.personal_fields())

    def _stored_arguments(self) -> list[tuple[str, Any]]:
        # By name: the database keeps no order among a JSON object's keys (jsonb).
        return sorted(((key, value) for key, value in self.call_arguments.items() if key != TEAM_ID), key=itemgetter(0))

    def replay_command(self) -> str:
        """The command that compares both sides again on this record's call."""
        return f"python manage.py rollout verify {shlex.quote(self.pair_name)} --record {self.pk}"


class FailureTally(models.Model):
    """Per pair, team and day: mismatches and optimized errors while optimized served.

    The guarded rollback's own count, apart from DailyEvidence, so a rollback
    never depends on the evidence write succeeding.
    """

    pair_name = models.CharField(max_length=100)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    mismatches = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair_name", "team", "day"], name="failuretally_unique_pair_team_day")
        ]

    def __str__(self) -> str:
        return f"{self.pair_name} team {self.team_id} {self.day}: {self.mismatches} mismatches, {self.errors} errors"


class ArgumentSet(models.Model):
    """A distinct call (its arguments, hashed) a pair's sides were compared on, per team and code revisions.

    The gate's "distinct argument sets" are the rows whose last_day is in the window.
    """

    pair_name = models.CharField(max_length=100)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    legacy_revision = models.CharField(max_length=40, default="", blank=True)
    optimized_revision = models.CharField(max_length=40, default="", blank=True)
    arguments_hash = models.CharField(max_length=16)
    last_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair_name", "team", "legacy_revision", "optimized_revision", "arguments_hash"],
                name="argumentset_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pair_name} team {self.team_id} {self.arguments_hash} (last {self.last_day})"


class RolloutPlan(models.Model):
    """The autopilot's plan for one pair: which teams, how fast, and the evidence each promotion needs.

    The autopilot (shadow.autopilot) promotes the next ready teams, `step_size` at a time and at most
    `max_teams_per_day` a day, waits `bake_minutes` after each step, halts and rolls the step back on
    a mismatch or optimized error, and pauses when either side's code changes or someone rolls a
    promoted team back by hand. A dry-run plan is only explained, never acted on.
    """

    class Status(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        HALTED = "halted", "Halted"
        ABORTED = "aborted", "Aborted"
        COMPLETED = "completed", "Completed"

    pair_name = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRY_RUN)
    status_reason = models.TextField(blank=True, help_text="Why the plan is paused, halted, aborted or completed.")
    teams = models.JSONField(
        default=list, blank=True,
        help_text="Team slugs in the order to promote them; empty: every team, smallest data first.",
    )
    step_size = models.PositiveIntegerField(default=2, validators=[MinValueValidator(1)], help_text="Teams promoted per step.")
    bake_minutes = models.PositiveIntegerField(
        default=60, help_text="Minutes to wait after a step, optimized serving and legacy compared, before the next."
    )
    min_comparisons = models.PositiveIntegerField(
        default=50, help_text="Comparisons a team needs, for the current code revisions, before its promotion."
    )
    min_argument_sets = models.PositiveIntegerField(default=3, help_text="Distinct argument sets a team needs.")
    max_p95_ratio = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1.20"), validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Optimized p95 may be at most this times legacy p95 (1.20: 20 % slower).",
    )
    max_teams_per_day = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1)], help_text="Promotions per day (UTC), across steps."
    )
    retire_after_days = models.PositiveIntegerField(
        default=14, help_text="Days every team must have been on with clean evidence before legacy can go."
    )
    # The code the analysis is for: a change of either side pauses the plan and starts it afresh.
    revisions = models.JSONField(default=dict, blank=True)
    # The step being baked: when its teams went on, and which (team ids).
    step_started_at = models.DateTimeField(null=True, blank=True)
    step_team_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pair_name"]

    def __str__(self) -> str:
        return f"rollout plan of {self.pair_name} ({self.get_status_display().lower()})"


class PlanDecision(models.Model):
    """One thing the autopilot (or an operator, on the plan) did, with the evidence that justified it.

    Append-only, like the flags' audit log; each promotion and rollback is also a flag audit entry by
    system:autopilot.
    """

    class Action(models.TextChoices):
        PROMOTE = "promote", "Promoted"
        ROLL_BACK = "roll_back", "Rolled back"
        HALT = "halt", "Halted"
        PAUSE = "pause", "Paused"
        RESUME = "resume", "Resumed"
        ABORT = "abort", "Aborted"
        RESTART = "restart", "Restarted analysis"
        COMPLETE = "complete", "Completed"
        START = "start", "Started"
        CREATE = "create", "Created"
        EDIT = "edit", "Changed settings"

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="decisions")
    action = models.CharField(max_length=10, choices=Action.choices)
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team_slug = models.CharField(max_length=100, blank=True)
    actor = models.CharField(max_length=150, default="system:autopilot")
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True, help_text="The evidence snapshot the decision rested on.")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        target = f" {self.team_slug}" if self.team_slug else ""
        return f"{self.plan.pair_name}: {self.get_action_display().lower()}{target} by {self.actor}"
