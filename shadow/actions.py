"""What an operator can do from the console, each through the same services as the admin and `rollout`.

Enable (the readiness gate applies; force goes past it with a reason and its
own permission), disable (the per-team rollback), kill and restore (flag-wide)
and the team's sampling rate. Every action needs a reason and is audited with
the user's name by the services it calls. On a pair's rollout plan: start,
pause, resume and abort, each through shadow.autopilot, which records it as a
PlanDecision with the user's name; a status the action does not apply to is
refused with nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from apps.teams.models import Team
from flags import extensions, services
from flags.models import Flag
from shadow import autopilot, sampling
from shadow.errors import PlanStateError
from shadow.models import PlanDecision, RolloutPlan


@dataclass(frozen=True)
class Request:
    """One operator's action on a pair (and team, for team actions)."""

    pair: str
    team: Team | None
    actor: str
    reason: str
    force: bool = False
    rate: Decimal | None = None


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # the button: "Enable", "Roll back", ...
    for_team: bool
    # Whether the readiness gate judges it (and so whether force can apply).
    guarded: bool
    # What it does, in a sentence, for the confirmation page.
    explain: Callable[[str, Team | None], str]
    perform: Callable[[Request], str]
    # Switches teams off: drawn as a warning button.
    danger: bool = False


def team_of(request: Request) -> Team:
    if request.team is None:
        raise ValueError(f"{request.pair}: this action is for one team")
    return request.team


def enable(request: Request) -> str:
    team = team_of(request)
    services.enable_for_teams(name=request.pair, teams=[team], actor=request.actor, reason=request.reason, force=request.force)
    return f"{request.pair} is on for {team.slug}: it serves the optimized side."


def disable(request: Request) -> str:
    team = team_of(request)
    services.disable_for_teams(name=request.pair, teams=[team], actor=request.actor, reason=request.reason)
    return f"{request.pair} is off for {team.slug}: it serves the legacy side, whatever the percentage or everyone says."


def kill(request: Request) -> str:
    services.set_everyone(name=request.pair, everyone=False, actor=request.actor, reason=request.reason)
    return f"{request.pair} is killed: every team serves the legacy side."


def restore(request: Request) -> str:
    services.set_everyone(name=request.pair, everyone=None, actor=request.actor, reason=request.reason, force=request.force)
    return f"{request.pair} follows its per-team rules again (listed teams and percentage)."


def set_rate(request: Request) -> str:
    team = team_of(request)
    if request.rate is None:
        raise ValueError("A sampling rate is needed")
    sampling.set_rate(pair_name=request.pair, rate=request.rate, team=team, actor=request.actor, reason=request.reason)
    return f"{request.pair} compares {sampling.format_rate(request.rate)} of {team.slug}'s calls."


ACTIONS = {
    action.name: action
    for action in (
        Action(
            name="enable", label="Enable", for_team=True, guarded=True, perform=enable,
            explain=lambda pair, team: f"Switch {pair} on for {getattr(team, 'slug', '')}: its calls will be served "
            "by the optimized side, with legacy compared on sampled calls. The readiness gate must agree.",
        ),
        Action(
            name="disable", label="Roll back", for_team=True, guarded=False, perform=disable, danger=True,
            explain=lambda pair, team: f"Switch {pair} off for {getattr(team, 'slug', '')}: its calls go back to the "
            "legacy side at once, whatever the percentage or everyone says. Never refused.",
        ),
        Action(
            name="rate", label="Change sampling rate", for_team=True, guarded=False, perform=set_rate,
            explain=lambda pair, team: f"Set the share of {getattr(team, 'slug', '')}'s calls to {pair} that are "
            "compared (0 to 1: 0.01 is 1 %).",
        ),
        Action(
            name="kill", label="Kill", for_team=False, guarded=False, perform=kill, danger=True,
            explain=lambda pair, team: f"Switch {pair} off for every team at once (the kill switch). Never refused; "
            "restore brings the per-team rules back.",
        ),
        Action(
            name="restore", label="Restore", for_team=False, guarded=True, perform=restore,
            explain=lambda pair, team: f"Lift the kill switch of {pair}: listed teams and the percentage switch "
            "on again. The readiness gate must agree for each of them.",
        ),
    )
}


def refusals(action: Action, *, pair: str, team: Team | None) -> list[str]:
    """What the readiness gate says now about the teams the action would switch on (empty: it would go)."""
    if not action.guarded:
        return []
    if action.name == "enable":
        return extensions.enable_refusals(pair, [team_of(Request(pair=pair, team=team, actor="", reason=""))])
    flag = Flag.objects.filter(name=pair).first()
    return services.enable_gate_check(
        name=pair, flag=flag, everyone=None, percent=flag.percent if flag else None
    ).refusals


# --- the autopilot's plan: start, pause, resume, abort --------------------------------------------------


Status = RolloutPlan.Status


@dataclass(frozen=True)
class PlanAction:
    """An operator's action on a pair's rollout plan, recorded by the autopilot as a PlanDecision."""

    name: str
    label: str
    # The statuses it applies to; from any other it is refused.
    allowed: tuple[str, ...]
    # What it does, in a sentence, for the confirmation page.
    explain: Callable[[RolloutPlan], str]
    perform: Callable[..., PlanDecision]
    danger: bool = False

    def refusal(self, plan: RolloutPlan) -> str | None:
        """Why this action cannot apply to the plan as it is (None: it can)."""
        if plan.status in self.allowed:
            return None
        allowed = ", ".join(str(Status(status).label).lower() for status in self.allowed)
        return (
            f"{self.label} is not possible: the plan of {plan.pair_name} is {plan.get_status_display().lower()} "
            f"({self.label.lower()} applies to a plan that is: {allowed}). Nothing was changed."
        )


PLAN_ACTIONS = {
    action.name: action
    for action in (
        PlanAction(
            name="start", label="Start", allowed=(Status.DRY_RUN,), perform=autopilot.start,
            explain=lambda plan: f"Activate the plan of {plan.pair_name}: from its next run the autopilot promotes "
            f"ready teams, {plan.step_size} at a time, bakes each step {plan.bake_minutes} minutes and halts and "
            "rolls the step back on a mismatch or optimized error. Its analysis is for the code running now.",
        ),
        PlanAction(
            name="pause", label="Pause", allowed=(Status.ACTIVE,), perform=autopilot.pause,
            explain=lambda plan: f"Stop the autopilot acting on {plan.pair_name}: teams stay as they are, "
            "nothing is promoted or rolled back until the plan is resumed.",
        ),
        PlanAction(
            name="resume", label="Resume", allowed=(Status.PAUSED, Status.HALTED), perform=autopilot.start,
            explain=lambda plan: f"Activate the plan of {plan.pair_name} again: the autopilot goes on from the "
            "teams that are on now, and its analysis is for the code running now.",
        ),
        PlanAction(
            name="abort", label="Abort", danger=True,
            allowed=(Status.DRY_RUN, Status.ACTIVE, Status.PAUSED, Status.HALTED), perform=autopilot.abort,
            explain=lambda plan: f"Stop the plan of {plan.pair_name} for good. Teams it promoted stay on: roll "
            "them back by hand if needed. An aborted plan cannot be resumed.",
        ),
    )
}


def perform_plan_action(action: PlanAction, *, pair: str, actor: str, reason: str) -> str:
    """Apply the action to the pair's plan (locked against the autopilot's run and a second click)."""
    with transaction.atomic():
        plan = RolloutPlan.objects.select_for_update().get(pair_name=pair)
        refusal = action.refusal(plan)
        if refusal is not None:
            raise PlanStateError(refusal)
        # The autopilot checks the move again (PlanStateError), under the same lock.
        action.perform(plan, actor=actor, reason=reason)
    return f"The plan of {pair} is {plan.get_status_display().lower()}."
