"""What the operator console shows, as plain data: per pair and team, the flag's state with its
cause, the readiness with its reasons, and the evidence in figures; per pair and team, the days.

The views render these; nothing here writes. The overview takes a fixed number
of queries whatever the number of teams: the flag rows and latest audit
entries (flags.status), the last state change of each team, the rates, two
evidence queries per pair, and with plans one for the rollout plans plus what
the autopilot's `explain` reads for each plan (a fixed number per plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.teams.models import Team
from flags import rules
from flags.models import FlagAudit
from flags.status import FlagStatus, TeamState, flag_statuses
from shadow import autopilot, charts, conf, pairs
from shadow.autopilot import Decision, TeamVerdict
from shadow.evidence import Evidence, estimate_percentile, evidence_for, short_day
from shadow.gate import AUTO_ROLLBACK_ACTOR
from shadow.models import MS_BUCKETS, DailyEvidence, PlanDecision, RolloutPlan, SamplingRate
from shadow.outcome import LEGACY, OPTIMIZED
from shadow.sampling import format_rate

AUTO_ROLLED_BACK = "auto-rolled back"
# The audit log also holds rate changes ("sampling 0.5"); a flag's state changes are the rest.
RATE_CHANGE = Q(after__startswith="sampling") | Q(before__startswith="sampling")

LEGACY_COLOUR, OPTIMIZED_COLOUR = "#e67700", "#3b5bdb"
MATCH_COLOUR, MISMATCH_COLOUR = "#748ffc", "#c92a2a"


@dataclass(frozen=True)
class Change:
    """The audit entry behind a state: who, when, why."""

    at: dt.datetime
    actor: str
    reason: str


@dataclass(frozen=True)
class Side:
    """One side's latency percentiles (ms, interpolated in the histogram) and mean queries per call."""

    p50_ms: float | None
    p95_ms: float | None
    queries: float | None

    @classmethod
    def of(cls, evidence: Evidence, side: str) -> Side:
        return cls(
            p50_ms=evidence.estimated_ms(side, 0.5), p95_ms=evidence.estimated_ms(side, 0.95),
            queries=evidence.mean_queries(side),
        )


@dataclass(frozen=True)
class TeamRow:
    """One team's place in one pair's rollout: state and cause, readiness and reasons, figures."""

    team: Team
    on: bool
    state: str
    change: Change | None
    rate: str
    evidence: Evidence
    legacy: Side
    optimized: Side

    @property
    def ready(self) -> bool:
        return self.evidence.ready

    @property
    def reasons(self) -> list[str]:
        return self.evidence.problems

    @property
    def state_class(self) -> str:
        """The pill's colour: on green, stopped red, plain off grey."""
        if self.on:
            return "yes"
        return "high" if self.state in (rules.KILLED, rules.BLOCKED, AUTO_ROLLED_BACK) else ""


@dataclass(frozen=True)
class PairRow:
    name: str
    description: str
    flag_mode: str
    killed: bool
    revisions: dict[str, str]
    window_days: int
    min_comparisons: int
    min_argument_sets: int
    teams: list[TeamRow] = field(default_factory=list)
    plan: PlanLine | None = None


def last_state_changes(names: Sequence[str], team_ids: Sequence[int]) -> dict[tuple[str, int | None], Change]:
    """(flag, team id or None for flag-wide) → the latest change of state (rate changes left out): one query."""
    entries = (
        FlagAudit.objects.filter(flag_name__in=names)
        .filter(Q(team_id__in=team_ids) | Q(team_id__isnull=True))
        .exclude(RATE_CHANGE)
        .order_by("flag_name", "team_id", "-created_at", "-id")
        .distinct("flag_name", "team_id")
        .values_list("flag_name", "team_id", "created_at", "actor", "reason")
    )
    return {(name, team_id): Change(at=at, actor=actor, reason=reason) for name, team_id, at, actor, reason in entries}


def team_state(cell: TeamState, *, flag_wide: Change | None, own: Change | None) -> tuple[str, Change | None]:
    """The state as operators name it, and the change that made it so.

    A team blocked by the guarded rollback reads "auto-rolled back"; the kill
    switch, "everyone on" and the percentage are flag-wide changes; listing,
    blocking and disabling are the team's own.
    """
    if cell.cause == rules.BLOCKED and own is not None and own.actor == AUTO_ROLLBACK_ACTOR:
        return AUTO_ROLLED_BACK, own
    if cell.cause in (rules.KILLED, rules.EVERYONE_ON, rules.IN_PERCENTAGE):
        return cell.cause, flag_wide
    return cell.cause or rules.NOT_LISTED, own


def sampling_rates(names: Sequence[str]) -> dict[str, dict[int | None, Any]]:
    """pair → {team id, or None for all teams: rate}: one query."""
    rates: dict[str, dict[int | None, Any]] = {}
    for pair_name, team_id, rate in SamplingRate.objects.filter(pair_name__in=names).values_list(
        "pair_name", "team_id", "rate"
    ):
        rates.setdefault(pair_name, {})[team_id] = rate
    return rates


def overview(teams: list[Team], *, pair_names: Sequence[str] | None = None, with_plans: bool = False) -> list[PairRow]:
    """Every registered pair (or those named) with one row per team, teams in the given order.

    with_plans: each pair's rollout plan, if it has one, with what the autopilot would do next.
    """
    registered = [pair for pair in pairs.all() if pair_names is None or pair.name in pair_names]
    if not registered:
        return []
    names = [pair.name for pair in registered]
    plans = plan_lines(names) if with_plans else {}
    team_ids = [team.pk for team in teams]
    statuses: dict[str, FlagStatus] = {status.name: status for status in flag_statuses(teams=teams, flag_names=names)}
    changes = last_state_changes(names, team_ids)
    rates = sampling_rates(names)
    default_rate = conf.get("SHADOW_DEFAULT_RATE")
    result = []
    for pair in registered:
        status = statuses[pair.name]
        evidence = evidence_for(pair.name, team_ids)
        pair_rates = rates.get(pair.name, {})
        fallback = pair_rates.get(None, default_rate)
        rows = []
        for team, cell in zip(teams, status.teams, strict=True):
            state, change = team_state(
                cell, flag_wide=changes.get((pair.name, None)), own=changes.get((pair.name, team.pk))
            )
            item = evidence[team.pk]
            rows.append(TeamRow(
                team=team, on=cell.on, state=state, change=change,
                rate=format_rate(pair_rates.get(team.pk, fallback)), evidence=item,
                legacy=Side.of(item, LEGACY), optimized=Side.of(item, OPTIMIZED),
            ))
        result.append(PairRow(
            name=pair.name,
            description=pair.description or status.description or "",
            flag_mode=status.mode,
            killed=status.everyone is False,
            revisions=pair.revisions(),
            window_days=pair.evidence.days,
            min_comparisons=pair.evidence.comparisons,
            min_argument_sets=pair.evidence.min_argument_sets,
            teams=rows,
            plan=plans.get(pair.name),
        ))
    return result


# --- the autopilot's rollout plans ------------------------------------------------------------------------

# Statuses in which the autopilot does not act although it has not finished: red.
STOPPED = (RolloutPlan.Status.PAUSED, RolloutPlan.Status.HALTED, RolloutPlan.Status.ABORTED)
# Team verdicts (autopilot.decide) → the pill's colour.
VERDICT_CLASSES = {"on": "yes", "baking": "normal", "would promote": "normal", "blocked": "high"}
DECISIONS_SHOWN = 20


def status_class(plan: RolloutPlan) -> str:
    if plan.status in STOPPED:
        return "high"
    return "yes" if plan.status in (RolloutPlan.Status.ACTIVE, RolloutPlan.Status.COMPLETED) else ""


def next_step(decision: Decision) -> str:
    """What the autopilot would do next, in a line: "next: promote demo-3, demo-1", "step of 2 baking until …"."""
    if decision.kind in ("inactive", "bake"):
        # Already a state: "halted: …", "paused: …", "step of 2 baking until …".
        return decision.reason
    if decision.kind == "idle":
        return f"waiting: {decision.reason}"
    if decision.kind == "promote":
        return f"next: {decision.reason}"
    if decision.kind == "halt":
        step = ", ".join(team.slug for team in decision.roll_back)
        return f"next: halt{f' and roll back {step}' if step else ''}: {decision.reason}"
    return f"next: {decision.kind}: {decision.reason}"


@dataclass(frozen=True)
class PlanLine:
    """A pair's plan and what the autopilot would do with it now."""

    plan: RolloutPlan
    decision: Decision

    @property
    def status_class(self) -> str:
        return status_class(self.plan)

    @property
    def stopped(self) -> bool:
        return self.plan.status in STOPPED

    @property
    def next_step(self) -> str:
        return next_step(self.decision)


def plan_lines(names: Sequence[str], *, now: dt.datetime | None = None) -> dict[str, PlanLine]:
    """pair → its plan explained: one query for the plans, then explain's own for each plan."""
    now = now or timezone.now()
    return {
        plan.pair_name: PlanLine(plan=plan, decision=autopilot.explain(plan, now=now))
        for plan in RolloutPlan.objects.filter(pair_name__in=list(names))
    }


@dataclass(frozen=True)
class VerdictRow:
    """One team's verdict in the plan, as a pill and its reason."""

    verdict: TeamVerdict

    @property
    def state_class(self) -> str:
        return VERDICT_CLASSES.get(self.verdict.state, "")

    @property
    def evidence(self) -> str:
        return evidence_line(self.verdict.evidence)


@dataclass(frozen=True)
class DecisionRow:
    """A recorded decision, its evidence snapshot in one line (empty when it rested on none)."""

    decision: PlanDecision
    evidence: str


@dataclass(frozen=True)
class PlanPage:
    line: PlanLine
    teams: list[VerdictRow]
    decisions: list[DecisionRow]
    # Only for a completed plan: what to remove now.
    retirement: str


def evidence_line(evidence: dict[str, Any]) -> str:
    """A decision's snapshot in a line; a restart keeps only the new code's revisions."""
    if "comparisons" in evidence:
        return autopilot.summary(evidence)
    revisions = evidence.get("revisions") or {}
    if revisions:
        return f"code {revisions.get(LEGACY, '?')}→{revisions.get(OPTIMIZED, '?')}"
    return ""


def plan_page(plan: RolloutPlan, *, now: dt.datetime | None = None) -> PlanPage:
    """The plan, the autopilot's verdict team by team, its last decisions: explain's queries and one more."""
    line = PlanLine(plan=plan, decision=autopilot.explain(plan, now=now))
    recent = plan.decisions.order_by("-created_at", "-id")[:DECISIONS_SHOWN]
    completed = plan.status == RolloutPlan.Status.COMPLETED and plan.pair_name in pairs.names()
    return PlanPage(
        line=line,
        teams=[VerdictRow(verdict) for verdict in line.decision.teams],
        decisions=[DecisionRow(item, evidence_line(item.evidence)) for item in recent],
        retirement=autopilot.retirement(plan.pair_name).line() if completed else "",
    )


# --- one pair and team: the days of its window --------------------------------------------


@dataclass(frozen=True)
class Day:
    day: dt.date
    matches: int
    mismatches: int
    errors: int
    timeouts: int
    legacy_p50: float | None
    legacy_p95: float | None
    optimized_p50: float | None
    optimized_p95: float | None

    @property
    def comparisons(self) -> int:
        return self.matches + self.mismatches

    @property
    def mismatch_rate(self) -> float | None:
        return 100 * self.mismatches / self.comparisons if self.comparisons else None


def daily(pair_name: str, team: Team, *, days: int, today: dt.date | None = None) -> list[Day]:
    """Every day of the window, oldest first, for the pair's current code (days without runs are zero): one query."""
    today = today or timezone.now().date()
    first = today - dt.timedelta(days=days - 1)
    rows = DailyEvidence.objects.filter(pair_name=pair_name, team=team, day__gte=first, day__lte=today)
    revisions = pairs.get(pair_name).revisions()
    rows = rows.filter(legacy_revision=revisions[LEGACY], optimized_revision=revisions[OPTIMIZED])
    by_day = {row.day: row for row in rows}
    result = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        row = by_day.get(day)
        if row is None:
            result.append(Day(day, 0, 0, 0, 0, None, None, None, None))
            continue
        result.append(Day(
            day=day, matches=row.matches, mismatches=row.mismatches, errors=row.errors, timeouts=row.timeouts,
            legacy_p50=estimate_percentile(row.legacy_ms_histogram, MS_BUCKETS, 0.5),
            legacy_p95=estimate_percentile(row.legacy_ms_histogram, MS_BUCKETS, 0.95),
            optimized_p50=estimate_percentile(row.optimized_ms_histogram, MS_BUCKETS, 0.5),
            optimized_p95=estimate_percentile(row.optimized_ms_histogram, MS_BUCKETS, 0.95),
        ))
    return result


@dataclass(frozen=True)
class Charts:
    comparisons: SafeString
    mismatch_rate: SafeString
    latency: SafeString


def day_charts(days: list[Day]) -> Charts:
    labels = [short_day(day.day) for day in days]
    return Charts(
        comparisons=charts.stacked_bars(
            title="Comparisons per day", labels=labels,
            series=[
                charts.Series("matches", [day.matches for day in days], MATCH_COLOUR),
                charts.Series("mismatches", [day.mismatches for day in days], MISMATCH_COLOUR),
            ],
        ),
        mismatch_rate=charts.lines(
            title="Mismatch rate per day", labels=labels, unit=" %",
            series=[charts.Series("mismatch rate", [day.mismatch_rate for day in days], MISMATCH_COLOUR)],
        ),
        latency=charts.lines(
            title="Latency per day, p50 and p95 (log scale)", labels=labels, unit=" ms", log=True,
            series=[
                charts.Series("legacy p50", [day.legacy_p50 for day in days], LEGACY_COLOUR),
                charts.Series("legacy p95", [day.legacy_p95 for day in days], LEGACY_COLOUR, dashed=True),
                charts.Series("optimized p50", [day.optimized_p50 for day in days], OPTIMIZED_COLOUR),
                charts.Series("optimized p95", [day.optimized_p95 for day in days], OPTIMIZED_COLOUR, dashed=True),
            ],
        ),
    )
