"""The autopilot: promote a pair's teams step by step on clean evidence, bake, halt and roll back by itself.

Each run (the Celery beat task, every SHADOW_AUTOPILOT_INTERVAL_SECONDS) takes a PostgreSQL
advisory lock, so one autopilot acts at a time across workers, and then, for each active plan:

1. a change of either side's code revision pauses the plan and restarts the analysis (only
   evidence for the new code counts from then on);
2. a promoted team switched off by someone else pauses it (a rollback by hand is a decision the
   autopilot must not undo); one switched off by the guarded rollback halts it;
3. a mismatch or optimized error among promoted teams since their promotion halts it and rolls
   back the current step's teams;
4. while the step bakes, nothing happens;
5. then the next ready teams (plan order, or smallest data first) are promoted, `step_size` at a
   time and at most `max_teams_per_day` a day; teams not ready are skipped with their reason;
6. once every team is on, and has been for `retire_after_days` with clean evidence, the plan
   completes: legacy is ready to retire.

Every decision is decided by `decide` from the database and a given `now` (tests inject the
clock), so a run is idempotent: a second run at the same moment finds the step baking. `decide`
writes nothing; `explain` is what `rollout plan --dry-run` and the console show.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from apps.teams.models import Team
from flags import rules
from flags.errors import GateRefusedError
from flags.extensions import enable_refusals
from flags.models import FlagAudit
from flags.services import disable_for_teams, enable_for_teams
from flags.status import flag_statuses
from shadow import pairs
from shadow.errors import PlanStateError
from shadow.evidence import Evidence, evidence_for
from shadow.gate import AUTO_ROLLBACK_ACTOR
from shadow.models import FailureTally, PlanDecision, RolloutPlan
from shadow.outcome import LEGACY, OPTIMIZED

logger = logging.getLogger(__name__)

AUTOPILOT_ACTOR = "system:autopilot"
# pg_try_advisory_xact_lock's key: any constant of the project's own ("tfauto" in ASCII).
LOCK_KEY = 0x746661_75746F
Action = PlanDecision.Action
Status = RolloutPlan.Status


# --- what the evidence says about one team ------------------------------------------------------


def snapshot(item: Evidence) -> dict[str, Any]:
    """The evidence a decision rests on, as stored with it (plain JSON)."""
    return {
        "comparisons": item.comparisons,
        "argument_sets": item.argument_sets,
        "mismatches": item.mismatches,
        "errors": item.errors,
        "timeouts": item.timeouts,
        "mismatch_rate": item.mismatch_rate,
        "p95_ms": {side: item.estimated_ms(side, 0.95) for side in (LEGACY, OPTIMIZED)},
        "window_days": item.days,
        "revisions": item.revisions,
    }


def summary(evidence: dict[str, Any]) -> str:
    """One line of a snapshot, for the flag audit log: what `rollout history` shows."""
    p95 = evidence.get("p95_ms") or {}
    revisions = evidence.get("revisions") or {}

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} ms"

    return (
        f"{evidence.get('comparisons', 0)} comparisons, {evidence.get('argument_sets', 0)} argument sets, "
        f"{evidence.get('mismatches', 0)} mismatches, {evidence.get('errors', 0)} errors, "
        f"p95 legacy {ms(p95.get(LEGACY))} / optimized {ms(p95.get(OPTIMIZED))}, "
        f"code {revisions.get(LEGACY, '?')}→{revisions.get(OPTIMIZED, '?')}"
    )


def not_ready_because(plan: RolloutPlan, item: Evidence) -> str | None:
    """Why the plan may not promote this team yet (None: it may), in the plan's terms."""
    if item.comparisons < plan.min_comparisons:
        return f"{item.comparisons} of {plan.min_comparisons} comparisons for the current code"
    if item.argument_sets < plan.min_argument_sets:
        return f"{item.argument_sets} of {plan.min_argument_sets} distinct argument sets"
    if item.mismatches or item.errors or item.timeouts:
        return f"{item.mismatches} mismatches, {item.errors} errors and {item.timeouts} timeouts in {item.days} days"
    legacy, optimized = item.estimated_ms(LEGACY, 0.95), item.estimated_ms(OPTIMIZED, 0.95)
    if legacy is None or optimized is None:
        return "no latency measured on both sides yet"
    if optimized > legacy * float(plan.max_p95_ratio):
        return f"optimized p95 {optimized:.0f} ms is over {plan.max_p95_ratio}× legacy p95 {legacy:.0f} ms"
    return None


# --- the decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamVerdict:
    """One team's place in the plan now: on, baking, would promote, waiting (with why), or stopped."""

    team: Team
    state: str
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.team.slug}: {self.state}" + (f", {self.reason}" if self.reason else "")


@dataclass
class Decision:
    """What the autopilot would do with a plan now. kind: the first that applies, in the module's order."""

    kind: str  # inactive, restart, pause, halt, bake, promote, complete, idle
    reason: str
    teams: list[TeamVerdict] = field(default_factory=list)
    promote: list[TeamVerdict] = field(default_factory=list)
    roll_back: list[Team] = field(default_factory=list)
    revisions: dict[str, str] = field(default_factory=dict)
    # A promoted team someone else switched off, and who: the plan stops counting it as its own.
    dropped: list[tuple[Team, str]] = field(default_factory=list)


def plan_teams(plan: RolloutPlan) -> list[Team]:
    """The plan's teams in promotion order: as listed, or every team, smallest data first (then by slug)."""
    if plan.teams:
        found = {team.slug: team for team in Team.objects.filter(slug__in=plan.teams)}
        return [found[slug] for slug in plan.teams if slug in found]
    teams = list(Team.objects.order_by("slug"))
    data = pairs.team_data()
    if data is None or data.sizes is None:
        return teams
    sizes = data.sizes([team.pk for team in teams])
    return sorted(teams, key=lambda team: (sizes.get(team.pk, 0), team.slug))


def promotions(plan: RolloutPlan) -> dict[int, dt.datetime]:
    """Team id → when the plan promoted it, for teams it promoted and has not rolled back since."""
    promoted: dict[int, dt.datetime] = {}
    for team_id, action, at in plan.decisions.filter(action__in=[Action.PROMOTE, Action.ROLL_BACK]).order_by(
        "created_at", "id"
    ).values_list("team_id", "action", "created_at"):
        if team_id is None:
            continue
        if action == Action.PROMOTE:
            promoted[team_id] = at
        else:
            promoted.pop(team_id, None)
    return promoted


def failures_since(pair_name: str, since: dict[int, dt.datetime]) -> dict[int, int]:
    """Mismatches and optimized errors while optimized served, per promoted team, on the days since its promotion."""
    if not since:
        return {}
    days = Q()
    for team_id, at in since.items():
        days |= Q(team_id=team_id, day__gte=at.date())
    rows = (
        FailureTally.objects.filter(days, pair_name=pair_name).values("team_id")
        .annotate(total=Sum("mismatches") + Sum("errors")).order_by()
    )
    return {row["team_id"]: row["total"] for row in rows if row["total"]}


def last_changes(pair_name: str, team_ids: Sequence[int]) -> dict[int, FlagAudit]:
    """The latest on/off change per team (rate changes left out)."""
    entries = (
        FlagAudit.objects.filter(flag_name=pair_name, team_id__in=list(team_ids))
        .exclude(Q(after__startswith="sampling") | Q(before__startswith="sampling"))
        .order_by("team_id", "-created_at", "-id").distinct("team_id")
    )
    return {entry.team_id: entry for entry in entries if entry.team_id is not None}


def promoted_today(plan: RolloutPlan, now: dt.datetime) -> int:
    start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return plan.decisions.filter(action=Action.PROMOTE, created_at__gte=start, created_at__lte=now).count()


def decide(plan: RolloutPlan, *, now: dt.datetime) -> Decision:
    """What the autopilot would do with this plan at `now`. Reads only."""
    if plan.status not in (Status.ACTIVE, Status.DRY_RUN):
        label = plan.get_status_display().lower()
        return Decision("inactive", f"{label}: {plan.status_reason}" if plan.status_reason else label)
    pair = pairs.get(plan.pair_name)
    revisions = pair.revisions()
    if plan.revisions and plan.revisions != revisions:
        changed = ", ".join(
            f"{side} {plan.revisions.get(side, '?')}→{revisions[side]}"
            for side in (LEGACY, OPTIMIZED) if plan.revisions.get(side) != revisions[side]
        )
        return Decision(
            "restart", f"the code changed ({changed}): the analysis starts again for the new code", revisions=revisions
        )
    teams = plan_teams(plan)
    by_id = {team.pk: team for team in teams}
    [status] = flag_statuses(teams=teams, flag_names=[plan.pair_name])
    if status.everyone is False:
        return Decision("pause", f"{plan.pair_name} was killed; restore it, then resume the plan")
    cells = {team.pk: cell for team, cell in zip(teams, status.teams, strict=True)}
    on = {team_id for team_id, cell in cells.items() if cell.on}
    promoted = {team_id: at for team_id, at in promotions(plan).items() if team_id in by_id}
    evidence = evidence_for(plan.pair_name, list(by_id), today=now.date())

    # A promoted team now off: by the guarded rollback, a failure (halt); by anyone else, a decision to respect (pause).
    gone = [team_id for team_id in promoted if team_id not in on]
    # Who switched off the blocked teams and the promoted ones now off (unlisted in the admin, say): one query.
    changes = last_changes(
        plan.pair_name, [team_id for team_id, cell in cells.items() if cell.cause == rules.BLOCKED or team_id in gone]
    )
    if gone:
        dropped = [(by_id[team_id], changes[team_id].actor if team_id in changes else "someone") for team_id in gone]
        what = "; ".join(
            f"{by_id[team_id].slug} was switched off by {who}"
            + (f" ({changes[team_id].reason})" if team_id in changes and changes[team_id].reason else "")
            for team_id, (_, who) in zip(gone, dropped, strict=True)
        )
        if any(who == AUTO_ROLLBACK_ACTOR for _, who in dropped):
            decision = halt(plan, by_id, what)
            decision.dropped = dropped
            decision.roll_back = [team for team in decision.roll_back if team.pk not in gone]
            return decision
        return Decision("pause", f"{what}; resume when settled", dropped=dropped)

    # Failures before the plan was last started or resumed were judged by whoever resumed it: the
    # tally counts per day, so that day's counts at the time are the baseline.
    resumed = plan.decisions.filter(action__in=[Action.START, Action.RESUME]).order_by("-created_at", "-id").first()
    floor = resumed.created_at if resumed else plan.created_at
    baseline = resumed.evidence.get("failures_that_day", {}) if resumed else {}
    counted = failures_since(plan.pair_name, {team_id: max(at, floor) for team_id, at in promoted.items()})
    failing = {
        team_id: count - baseline.get(str(team_id), 0)
        for team_id, count in counted.items() if count > baseline.get(str(team_id), 0)
    }
    if failing:
        detail = ", ".join(f"{by_id[team_id].slug}: {count}" for team_id, count in failing.items())
        return halt(plan, by_id, f"mismatches or optimized errors while optimized served since promotion ({detail})")

    verdicts: list[TeamVerdict] = []
    ready: list[TeamVerdict] = []
    baking_until = plan.step_started_at + dt.timedelta(minutes=plan.bake_minutes) if plan.step_started_at else None
    # At the very moment of a step (a second run at the same instant, or no bake time) it still bakes: runs are idempotent.
    baking = baking_until is not None and now <= baking_until
    for team in teams:
        item = evidence[team.pk]
        if team.pk in on:
            verdicts.append(TeamVerdict(
                team, "baking" if baking and team.pk in plan.step_team_ids else "on", evidence=snapshot(item)
            ))
            continue
        blocker = not_ready_because(plan, item)
        who = changes[team.pk].actor if team.pk in changes else "someone"
        if cells[team.pk].cause == rules.BLOCKED and who != AUTOPILOT_ACTOR:
            # Switched off on purpose by someone: the autopilot never lifts another's block (its own, after a halt, it may).
            verdicts.append(TeamVerdict(team, "blocked", f"switched off by {who}", snapshot(item)))
            continue
        if blocker is None:
            verdict = TeamVerdict(team, "ready", evidence=snapshot(item))
            ready.append(verdict)
        else:
            verdict = TeamVerdict(team, "waiting", blocker, evidence=snapshot(item))
        verdicts.append(verdict)

    if not teams:
        return Decision("idle", "the plan has no teams: its list names none that exist" if plan.teams else "there are no teams")
    if baking and baking_until is not None:
        until = timezone.localtime(baking_until).strftime("%Y-%m-%d %H:%M %Z")
        return Decision("bake", f"step of {len(plan.step_team_ids)} baking until {until}", verdicts)
    if len(on) == len(teams):
        return complete(plan, teams, promoted, now, verdicts)
    # The readiness gate judges every enable, the autopilot's too: its needs may be stricter than the plan's.
    problems = enable_refusals(plan.pair_name, [verdict.team for verdict in ready]) if ready else []
    # The gate's problems read "<slug>: <why>".
    refused = dict(problem.split(": ", 1) for problem in problems if ": " in problem)
    for verdict in [verdict for verdict in ready if verdict.team.slug in refused]:
        ready.remove(verdict)
        verdicts[verdicts.index(verdict)] = TeamVerdict(
            verdict.team, "waiting", f"the readiness gate: {refused[verdict.team.slug]}", verdict.evidence
        )
    quota = max(plan.max_teams_per_day - promoted_today(plan, now), 0)
    chosen = ready[: min(plan.step_size, quota)]
    later = "daily limit reached" if len(chosen) == quota else "in a later step"
    for verdict in ready[len(chosen):]:
        verdicts[verdicts.index(verdict)] = TeamVerdict(verdict.team, "ready", later, verdict.evidence)
    if not chosen:
        reason = "daily limit reached" if ready else "no team is ready yet"
        return Decision("idle", reason, verdicts)
    for verdict in chosen:
        verdicts[verdicts.index(verdict)] = TeamVerdict(verdict.team, "would promote", "", verdict.evidence)
    return Decision("promote", f"promote {', '.join(v.team.slug for v in chosen)}", verdicts, promote=chosen)


def halt(plan: RolloutPlan, by_id: dict[int, Team], reason: str) -> Decision:
    step = [by_id[team_id] for team_id in plan.step_team_ids if team_id in by_id]
    return Decision("halt", reason, roll_back=step)


# --- retiring legacy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retirement:
    """What to remove once every team has been on long enough with clean evidence."""

    pair_name: str
    flag: str
    legacy: str  # "apps/metrics/services/dashboard/legacy.py: get_team_breakdown"

    def line(self) -> str:
        return f"ready to retire legacy: remove {self.legacy}, the pair's registration and the flag {self.flag}"


def retirement(pair_name: str) -> Retirement:
    pair = pairs.get(pair_name)
    source = inspect.getsourcefile(pair.legacy) or "?"
    base = Path(settings.BASE_DIR)
    path = Path(source)
    shown = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
    return Retirement(pair_name=pair_name, flag=pair_name, legacy=f"{shown}: {pair.legacy.__name__}")


def complete(
    plan: RolloutPlan, teams: list[Team], promoted: dict[int, dt.datetime], now: dt.datetime, verdicts: list[TeamVerdict],
) -> Decision:
    """Every team is on: done once each has been on `retire_after_days` (since its promotion, or the plan's start)."""
    started = plan.decisions.filter(action=Action.START).order_by("created_at").values_list("created_at", flat=True).first()
    since = {team.pk: promoted.get(team.pk) or started or plan.created_at for team in teams}
    waiting = [
        team.slug for team in teams if now - since[team.pk] < dt.timedelta(days=plan.retire_after_days)
    ]
    if waiting:
        return Decision(
            "idle", f"every team is on; {len(waiting)} not yet on for {plan.retire_after_days} days: {', '.join(waiting)}",
            verdicts,
        )
    # Clean for every team, those switched on by hand included: the promoted ones were checked before.
    failing = failures_since(plan.pair_name, since)
    if failing:
        slugs = {team.pk: team.slug for team in teams}
        detail = ", ".join(f"{slugs[team_id]}: {count}" for team_id, count in failing.items())
        return Decision("idle", f"every team is on, but not clean: mismatches or optimized errors ({detail})", verdicts)
    return Decision("complete", retirement(plan.pair_name).line(), verdicts)


# --- acting ---------------------------------------------------------------------------------------


def record(
    plan: RolloutPlan, action: str, *, now: dt.datetime, team: Team | None = None, reason: str = "",
    evidence: dict[str, Any] | None = None, actor: str = AUTOPILOT_ACTOR,
) -> PlanDecision:
    return PlanDecision.objects.create(
        plan=plan, action=action, team=team, team_slug=team.slug if team else "", actor=actor, reason=reason,
        evidence=evidence or {}, created_at=now,
    )


def set_status(plan: RolloutPlan, status: str, reason: str, **fields: Any) -> None:
    plan.status = status
    plan.status_reason = reason
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.save()


def act(plan: RolloutPlan, decision: Decision, *, now: dt.datetime) -> list[PlanDecision]:
    """Carry out an active plan's decision (inside the run's transaction and lock)."""
    done: list[PlanDecision] = []
    if decision.kind == "restart":
        set_status(plan, Status.PAUSED, decision.reason, revisions=decision.revisions, step_started_at=None, step_team_ids=[])
        done.append(record(plan, Action.RESTART, now=now, reason=decision.reason, evidence={"revisions": decision.revisions}))
    elif decision.kind == "pause":
        done.extend(drop(plan, decision, now=now))
        set_status(plan, Status.PAUSED, decision.reason)
        done.append(record(plan, Action.PAUSE, now=now, reason=decision.reason))
    elif decision.kind == "halt":
        done.extend(drop(plan, decision, now=now))
        reason = f"autopilot halted: {decision.reason}"
        if decision.roll_back:
            disable_for_teams(name=plan.pair_name, teams=decision.roll_back, actor=AUTOPILOT_ACTOR, reason=reason)
        for team in decision.roll_back:
            done.append(record(plan, Action.ROLL_BACK, now=now, team=team, reason=reason))
        set_status(plan, Status.HALTED, decision.reason, step_started_at=None, step_team_ids=[])
        done.append(record(plan, Action.HALT, now=now, reason=decision.reason))
    elif decision.kind == "promote":
        step = plan.decisions.filter(action=Action.PROMOTE).values("created_at").distinct().count() + 1
        promoted = []
        for verdict in decision.promote:
            reason = f"autopilot step {step}: {summary(verdict.evidence)}"
            try:
                enable_for_teams(name=plan.pair_name, teams=[verdict.team], actor=AUTOPILOT_ACTOR, reason=reason)
            except GateRefusedError as refused:
                # The readiness gate's own needs (SHADOW_MIN_COMPARISONS, …) may be stricter than the plan's.
                logger.info("Autopilot: the gate refused %s for %s: %s", plan.pair_name, verdict.team.slug, refused.problems)
                continue
            promoted.append(verdict.team.pk)
            done.append(record(plan, Action.PROMOTE, now=now, team=verdict.team, reason=reason, evidence=verdict.evidence))
        if promoted:
            plan.step_started_at, plan.step_team_ids = now, promoted
            plan.save(update_fields=["step_started_at", "step_team_ids", "updated_at"])
    elif decision.kind == "complete":
        set_status(plan, Status.COMPLETED, decision.reason)
        done.append(record(plan, Action.COMPLETE, now=now, reason=decision.reason))
    return done


def drop(plan: RolloutPlan, decision: Decision, *, now: dt.datetime) -> list[PlanDecision]:
    """Record the promoted teams others switched off as rolled back, by them: no longer the plan's to watch."""
    return [
        record(plan, Action.ROLL_BACK, now=now, team=team, actor=who, reason="switched off outside the plan")
        for team, who in decision.dropped
    ]


@dataclass(frozen=True)
class RunReport:
    """One autopilot run: whether it held the lock, and what it did per plan."""

    locked: bool
    decisions: dict[str, list[PlanDecision]] = field(default_factory=dict)


def run(*, now: dt.datetime | None = None) -> RunReport:
    """One autopilot run over every active plan; does nothing when another run holds the lock."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            (locked,) = cursor.fetchone()
        if not locked:
            return RunReport(locked=False)
        report = RunReport(locked=True)
        for plan in RolloutPlan.objects.select_for_update().filter(status=Status.ACTIVE):
            if plan.pair_name not in pairs.names():
                continue
            with transaction.atomic():
                report.decisions[plan.pair_name] = act(plan, decide(plan, now=now), now=now)
    return report


# Celery ships no type information, so its decorator is untyped.
@shared_task(name="shadow.autopilot.run_autopilot_task", ignore_result=True)  # type: ignore[untyped-decorator]
def run_autopilot_task() -> int:
    """The beat task: one run; returns how many decisions it recorded (-1: another run held the lock)."""
    report = run()
    return sum(len(items) for items in report.decisions.values()) if report.locked else -1


# --- operators on a plan ----------------------------------------------------------------------------


def allowed(plan: RolloutPlan, move: str, *statuses: str) -> None:
    """Lock the plan's row and read it afresh (inside the caller's transaction), then check the move fits its status."""
    RolloutPlan.objects.select_for_update().filter(pk=plan.pk).exists()
    plan.refresh_from_db()
    if plan.status not in statuses:
        raise PlanStateError(f"Cannot {move} a plan that is {plan.get_status_display().lower()}")


def start(plan: RolloutPlan, *, actor: str, reason: str, now: dt.datetime | None = None) -> PlanDecision:
    """Activate a plan (from dry run, paused or halted): its analysis is for the code running now."""
    now = now or timezone.now()
    with transaction.atomic():
        allowed(plan, "start or resume", Status.DRY_RUN, Status.PAUSED, Status.HALTED)
        action = Action.START if plan.status == Status.DRY_RUN else Action.RESUME
        set_status(plan, Status.ACTIVE, "", revisions=pairs.get(plan.pair_name).revisions())
        # Failures already counted today are behind the operator's decision (see decide).
        today = FailureTally.objects.filter(pair_name=plan.pair_name, day=now.date()).values_list("team_id", "mismatches", "errors")
        counted = {str(team_id): mismatches + errors for team_id, mismatches, errors in today if mismatches + errors}
        return record(plan, action, now=now, reason=reason, actor=actor, evidence={"failures_that_day": counted})


def pause(plan: RolloutPlan, *, actor: str, reason: str, now: dt.datetime | None = None) -> PlanDecision:
    now = now or timezone.now()
    with transaction.atomic():
        allowed(plan, "pause", Status.ACTIVE)
        set_status(plan, Status.PAUSED, reason)
        return record(plan, Action.PAUSE, now=now, reason=reason, actor=actor)


def abort(plan: RolloutPlan, *, actor: str, reason: str, now: dt.datetime | None = None) -> PlanDecision:
    """Stop the plan for good; teams it promoted stay as they are (roll them back by hand if needed)."""
    now = now or timezone.now()
    with transaction.atomic():
        allowed(plan, "abort", Status.DRY_RUN, Status.ACTIVE, Status.PAUSED, Status.HALTED)
        set_status(plan, Status.ABORTED, reason, step_started_at=None, step_team_ids=[])
        return record(plan, Action.ABORT, now=now, reason=reason, actor=actor)


def note_edit(
    plan: RolloutPlan, *, actor: str, changes: list[str], created: bool, now: dt.datetime | None = None
) -> PlanDecision | None:
    """Log an operator's creation of the plan, or change of its settings, beside the autopilot's own decisions."""
    if not created and not changes:
        return None
    action = Action.CREATE if created else Action.EDIT
    return record(plan, action, now=now or timezone.now(), actor=actor, reason="; ".join(changes))


def explain(plan: RolloutPlan, *, now: dt.datetime | None = None) -> Decision:
    """What the autopilot would do now and why, team by team (no writes): `rollout plan --dry-run`, the console."""
    return decide(plan, now=now or timezone.now())


def ready_to_retire() -> list[Retirement]:
    """Pairs whose plan completed: legacy can go."""
    names = RolloutPlan.objects.filter(status=Status.COMPLETED).values_list("pair_name", flat=True)
    return [retirement(name) for name in names if name in pairs.names()]
