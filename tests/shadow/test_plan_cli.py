"""`rollout plan`: create and change a pair's rollout plan, start, pause, resume and abort it, what the autopilot
would do now for each team (--dry-run), every plan (--list); and `rollout status` naming pairs ready to retire."""

from __future__ import annotations

import getpass
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shadow import autopilot, cli
from shadow import pairs as registry
from shadow.models import MS_BUCKETS, ArgumentSet, PlanDecision, RolloutPlan
from tests.factories import DailyEvidenceFactory, TeamFactory
from tests.support.commands import rollout, rollout_failure

pytestmark = pytest.mark.django_db

PAIR = "test.pair"
ACTOR = f"cli:{getpass.getuser()}"
Status = RolloutPlan.Status
Action = PlanDecision.Action


def legacy_total(*, team) -> int:
    return 1


def optimized_total(*, team) -> int:
    return 1


@pytest.fixture
def pair(make_pair):
    return make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)


def histogram(bound: float, count: int) -> list[int]:
    values = [0] * (len(MS_BUCKETS) + 1)
    values[MS_BUCKETS.index(bound)] = count
    return values


def evidence(team, *, comparisons: int, argument_sets: int) -> None:
    """Clean evidence for the pair's current code, both sides timed (optimized faster), and distinct argument sets."""
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=comparisons, matches=comparisons, measured_runs=comparisons,
        legacy_ms_histogram=histogram(20, comparisons), optimized_ms_histogram=histogram(7.5, comparisons),
    )
    revisions = registry.get(PAIR).revisions()
    for number in range(argument_sets):
        ArgumentSet.objects.create(
            pair_name=PAIR, team=team, legacy_revision=revisions["legacy"], optimized_revision=revisions["optimized"],
            arguments_hash=f"{team.pk:08x}{number:08x}", last_day=timezone.now().date(),
        )


def make_plan(**fields) -> RolloutPlan:
    return RolloutPlan.objects.create(pair_name=PAIR, **fields)


def fields(plan: RolloutPlan) -> dict:
    plan.refresh_from_db()
    return {
        "status": plan.status, "teams": plan.teams, "step_size": plan.step_size, "bake_minutes": plan.bake_minutes,
        "min_comparisons": plan.min_comparisons, "min_argument_sets": plan.min_argument_sets,
        "max_p95_ratio": plan.max_p95_ratio, "max_teams_per_day": plan.max_teams_per_day,
        "retire_after_days": plan.retire_after_days,
    }


# --- creating and changing ----------------------------------------------------------------


def test_create_sets_every_option_as_a_dry_run(pair, team, other_team):
    output = rollout(
        "plan", PAIR, "--create", "--teams", "globex, acme", "--step", "1", "--bake", "30", "--min-comparisons", "5",
        "--min-argument-sets", "2", "--max-p95-ratio", "1.5", "--max-per-day", "3", "--retire-after", "7",
    )

    assert fields(RolloutPlan.objects.get(pair_name=PAIR)) == {
        "status": Status.DRY_RUN, "teams": ["globex", "acme"], "step_size": 1, "bake_minutes": 30,
        "min_comparisons": 5, "min_argument_sets": 2, "max_p95_ratio": Decimal("1.50"), "max_teams_per_day": 3,
        "retire_after_days": 7,
    }
    assert f"{PAIR}: rollout plan created as a dry run" in output
    assert f"{PAIR}: step size: 2 → 1" in output
    assert f"Rollout plan for {PAIR}: dry run" in output
    assert "  teams:             globex, acme" in output
    assert "optimized p95 at most 1.50× legacy p95" in output
    # Created by the shell user: the one entry in the plan's log.
    assert list(PlanDecision.objects.values_list("action", "actor")) == [("create", ACTOR)]


def test_create_with_defaults_plans_every_team_smallest_data_first(pair, team):
    output = rollout("plan", PAIR, "--create")

    assert fields(RolloutPlan.objects.get(pair_name=PAIR))["teams"] == []
    assert "all teams, smallest data first" in output
    assert "5 comparisons" not in output and "50 comparisons and 3 distinct argument sets" in output


def test_edits_print_what_changed_and_all_teams_clears_the_list(pair, team, other_team):
    make_plan(teams=["acme", "globex"])

    output = rollout("plan", PAIR, "--step", "3", "--all-teams", "--bake", "60")

    assert output.splitlines()[:2] == [
        f"{PAIR}: teams: acme, globex → all teams, smallest data first",
        f"{PAIR}: step size: 2 → 3",
    ]
    assert (fields(RolloutPlan.objects.get())["teams"], RolloutPlan.objects.get().step_size) == ([], 3)
    assert rollout("plan", PAIR, "--step", "3").startswith(f"{PAIR}: nothing changed")
    # Logged beside the autopilot's decisions, once (the unchanged rerun adds nothing).
    [edit] = RolloutPlan.objects.get().decisions.filter(action="edit")
    assert edit.actor.startswith("cli:")
    assert edit.reason == "teams: acme, globex → all teams, smallest data first; step size: 2 → 3"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--step", "0", "--step: Ensure this value is greater than or equal to 1."),
        ("--bake", "-1", "--bake: Ensure this value is greater than or equal to 0."),
        ("--min-comparisons", "-5", "--min-comparisons: Ensure this value is greater than or equal to 0."),
        ("--max-p95-ratio", "0", "--max-p95-ratio: Ensure this value is greater than or equal to 0.01."),
        ("--max-p95-ratio", "1000", "--max-p95-ratio: Ensure that there are no more than 3 digits before the decimal point."),
        ("--max-p95-ratio", "1.234", "--max-p95-ratio: Ensure that there are no more than 2 decimal places."),
        ("--max-p95-ratio", "fast", "--max-p95-ratio must be a number, got 'fast'"),
        ("--max-per-day", "0", "--max-per-day: Ensure this value is greater than or equal to 1."),
        ("--retire-after", "-1", "--retire-after: Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_bad_value_exits_2_and_writes_nothing(pair, option, value, message):
    error, output = rollout_failure("plan", PAIR, "--create", f"{option}={value}")

    assert error.returncode == 2
    assert message in str(error)
    assert not RolloutPlan.objects.exists()
    assert output == ""

    make_plan()
    error, _output = rollout_failure("plan", PAIR, "--step", "5", f"{option}={value}")
    assert (error.returncode, RolloutPlan.objects.get().step_size) == (2, 2)


def test_unknown_team_slugs_exit_2_naming_them(pair, team):
    error, _output = rollout_failure("plan", PAIR, "--create", "--teams", "acme,nope,nada")

    assert error.returncode == 2
    assert "Unknown teams 'nope', 'nada'" in str(error)
    assert not RolloutPlan.objects.exists()
    assert rollout_failure("plan", PAIR, "--create", "--teams", " , ")[0].returncode == 2


def test_create_of_an_existing_plan_exits_2(pair):
    make_plan(step_size=4)

    error, _output = rollout_failure("plan", PAIR, "--create", "--step", "1")

    assert (error.returncode, str(error)) == (
        2, f"{PAIR} already has a rollout plan (dry run): change it without --create"
    )
    assert RolloutPlan.objects.get().step_size == 4


def test_a_pair_without_a_plan_exits_1_saying_how_to_create_one(pair):
    for args in ([], ["--dry-run"], ["--step", "3"], ["--start", "--reason", "go"]):
        error, _output = rollout_failure("plan", PAIR, *args)
        assert error.returncode == 1
        assert str(error).startswith(f"{PAIR} has no rollout plan; create one with rollout plan {PAIR} --create")
    assert not RolloutPlan.objects.exists()


def test_an_unknown_pair_exits_2_listing_the_registered_ones(pair):
    error, _output = rollout_failure("plan", "test.nope", "--create")

    assert error.returncode == 2
    assert PAIR in str(error)
    assert rollout_failure("plan")[0].returncode == 2


# --- what the autopilot would do ----------------------------------------------------------


@pytest.fixture
def ready_and_waiting(pair, team, other_team, settings):
    """acme: enough clean, timed evidence; globex: 3 of 5 comparisons. The readiness gate needs as much."""
    settings.SHADOW_MIN_COMPARISONS = 5
    evidence(team, comparisons=5, argument_sets=2)
    evidence(other_team, comparisons=3, argument_sets=2)
    return make_plan(teams=["globex", "acme"], min_comparisons=5, min_argument_sets=2)


def test_dry_run_prints_the_plan_each_teams_verdict_and_the_next_step(ready_and_waiting):
    output = rollout("plan", PAIR, "--dry-run")

    assert output == rollout("plan", PAIR)
    assert "What the autopilot would do now (a dry run: it acts once the plan is started with --start):" in output
    assert "  globex: waiting, 3 of 5 comparisons for the current code\n  acme: would promote\nnext: promote acme\n\n" in output
    assert output.endswith("\n\nNo decisions yet\n")
    assert not PlanDecision.objects.exists()


def test_dry_run_says_when_the_readiness_gate_would_refuse_a_team_the_plan_would_promote(ready_and_waiting, settings):
    """The plan's needs are met but the gate's are stricter: the team waits, with the gate's reason."""
    settings.SHADOW_MIN_COMPARISONS = 10

    output = rollout("plan", PAIR, "--dry-run")

    assert (
        "  acme: waiting, the readiness gate: 5 of 10 comparisons in the last 7 days\n"
        "next: wait (no team is ready yet)\n"
    ) in output
    assert rollout("plan", "--list").splitlines()[1].endswith("wait (no team is ready yet)")


def test_dry_run_with_changes_shows_their_effect_and_writes_nothing(ready_and_waiting):
    output = rollout("plan", PAIR, "--dry-run", "--min-comparisons", "3", "--start", "--reason", "try")

    assert f"(dry run) {PAIR}: min comparisons: 5 → 3" in output
    assert f"(dry run) {PAIR}: plan started (was dry run)" in output
    # globex now meets the plan's 3 comparisons, but not the gate's 5.
    assert (
        "  globex: waiting, the readiness gate: 3 of 5 comparisons in the last 7 days\n  acme: would promote\n"
        "next: promote acme\n"
    ) in output
    assert output.endswith("Dry run: nothing was written\n")
    assert fields(ready_and_waiting)["min_comparisons"] == 5
    assert ready_and_waiting.status == Status.DRY_RUN
    assert not PlanDecision.objects.exists()


def test_a_paused_plan_is_previewed_as_if_resumed(ready_and_waiting):
    autopilot.start(ready_and_waiting, actor=ACTOR, reason="go")
    autopilot.pause(ready_and_waiting, actor=ACTOR, reason="holiday")

    output = rollout("plan", PAIR)

    assert f"Rollout plan for {PAIR}: paused (holiday)" in output
    assert "The autopilot does nothing while the plan is paused. If resumed now (--resume):" in output
    assert "  acme: would promote\nnext: promote acme\n" in output
    lines = output.splitlines()
    decisions = lines[lines.index("Last 2 decisions, newest first:") + 2:]
    assert [line.split()[3:] for line in decisions] == [[ACTOR, "paused", "—", "holiday"], [ACTOR, "started", "—", "go"]]


# --- state changes ------------------------------------------------------------------------


def test_start_pause_resume_and_abort_need_a_reason_and_are_recorded(ready_and_waiting):
    plan = ready_and_waiting
    for verb in ("--start", "--pause", "--resume", "--abort"):
        error, _output = rollout_failure("plan", PAIR, verb)
        assert (error.returncode, str(error)) == (
            2, f"{verb} needs a --reason: it is recorded with the plan's decisions"
        )
        assert rollout_failure("plan", PAIR, verb, "--reason", "  ")[0].returncode == 2
    assert (fields(plan)["status"], PlanDecision.objects.count()) == (Status.DRY_RUN, 0)

    output = rollout("plan", PAIR, "--start", "--reason", "evidence clean")
    assert output.startswith(f"{PAIR}: plan started (was dry run)\n")
    assert "What the autopilot would do now:" in output
    assert rollout("plan", PAIR, "--pause", "--reason", "holiday").startswith(f"{PAIR}: plan paused (was active)")
    assert rollout("plan", PAIR, "--resume", "--reason", "back").startswith(f"{PAIR}: plan resumed (was paused)")
    output = rollout("plan", PAIR, "--abort", "--reason", "rewrite")
    assert output.startswith(
        f"{PAIR}: plan aborted (was active)\nTeams it promoted stay on: roll them back with rollout disable if needed\n"
    )
    assert "The autopilot does nothing more: the plan is aborted; on for 0 of 2 teams" in output

    assert (fields(plan)["status"], plan.status_reason) == (Status.ABORTED, "rewrite")
    assert list(plan.decisions.order_by("created_at", "id").values_list("action", "actor", "reason")) == [
        (Action.START, ACTOR, "evidence clean"), (Action.PAUSE, ACTOR, "holiday"),
        (Action.RESUME, ACTOR, "back"), (Action.ABORT, ACTOR, "rewrite"),
    ]


@pytest.mark.parametrize(
    ("status", "verb", "why"),
    [
        (Status.DRY_RUN, "pause", "cannot pause a dry run plan: only an active plan can be paused"),
        (Status.HALTED, "pause", "cannot pause a halted plan: only an active plan can be paused"),
        (Status.DRY_RUN, "resume", "cannot resume a dry run plan: it has not started: use --start"),
        (Status.ACTIVE, "start", "cannot start an active plan: it is already active"),
        (Status.ACTIVE, "resume", "cannot resume an active plan: it is already active"),
        (Status.ABORTED, "resume", "cannot resume an aborted plan: aborting is final"),
        (Status.ABORTED, "abort", "cannot abort an aborted plan: aborting is final"),
        (Status.COMPLETED, "start", "cannot start a completed plan: the rollout is complete and legacy is ready to retire"),
    ],
)
def test_impossible_transitions_exit_2_and_change_nothing(pair, status, verb, why):
    plan = make_plan(status=status, step_size=2)

    error, output = rollout_failure("plan", PAIR, f"--{verb}", "--reason", "why not", "--step", "5")

    assert (error.returncode, str(error), output) == (2, f"{PAIR}: {why}", "")
    assert (fields(plan)["status"], plan.step_size, plan.decisions.count()) == (status, 2, 0)


def test_a_reason_without_a_state_change_exits_2(pair):
    make_plan()

    error, _output = rollout_failure("plan", PAIR, "--step", "4", "--reason", "faster")

    assert error.returncode == 2
    assert RolloutPlan.objects.get().step_size == 2


def test_a_halted_plan_can_be_started_or_resumed(pair, team):
    plan = make_plan(status=Status.HALTED, status_reason="2 mismatches")

    rollout("plan", PAIR, "--resume", "--reason", "fixed")

    assert (fields(plan)["status"], plan.status_reason) == (Status.ACTIVE, "")
    assert plan.revisions == registry.get(PAIR).revisions()
    assert plan.decisions.get().action == Action.RESUME


# --- every plan ----------------------------------------------------------------------------


def test_list_prints_every_plan_with_its_teams_on_and_next_step(ready_and_waiting, make_pair):
    make_pair("test.other", legacy=legacy_total, optimized=optimized_total)
    RolloutPlan.objects.create(pair_name="test.other", status=Status.ABORTED, status_reason="rewrite")
    RolloutPlan.objects.create(pair_name="test.gone", status=Status.COMPLETED)

    lines = rollout("plan", "--list").splitlines()

    assert [line.split("  ")[0] for line in lines] == ["PAIR", "test.gone", "test.other", PAIR]
    assert lines[0].split() == ["PAIR", "STATUS", "TEAMS", "ON", "NEXT"]
    assert lines[1].split()[1:4] == ["completed", "—", "nothing"]
    assert lines[2].split()[1:5] == ["aborted", "0", "of", "2"]
    assert lines[2].endswith("nothing (aborted: rewrite)")
    assert lines[3].split()[1:6] == ["dry", "run", "0", "of", "2"]
    assert lines[3].endswith("promote acme")


def test_list_without_plans_and_with_other_options(pair):
    assert rollout("plan", "--list") == "No rollout plans; create one with rollout plan PAIR --create\n"
    assert rollout_failure("plan", PAIR, "--list")[0].returncode == 2
    assert rollout_failure("plan", "--list", "--step", "3")[0].returncode == 2


# --- retirement in `rollout status` ------------------------------------------------------


def test_status_lists_a_completed_plans_pair_as_ready_to_retire(pair, team):
    make_plan(status=Status.COMPLETED)
    make_plan_for_other = RolloutPlan.objects.create(pair_name="test.active", status=Status.ACTIVE)
    assert make_plan_for_other.pk
    note = (
        f"{PAIR}: ready to retire legacy: remove tests/shadow/test_plan_cli.py: legacy_total, "
        f"the pair's registration and the flag {PAIR}"
    )

    output = rollout("status")
    assert output.endswith(f"\n\n{note}\n")

    document = json.loads(rollout("status", "--json"))
    assert document["notes"] == [note]


def test_status_without_a_completed_plan_has_no_notes(pair, team):
    make_plan(status=Status.ACTIVE)

    assert "ready to retire" not in rollout("status")
    assert "notes" not in json.loads(rollout("status", "--json"))


def test_many_teams_list_only_the_plans_teams(pair):
    teams = [TeamFactory(slug=f"team-{number}") for number in range(3)]
    make_plan(teams=[teams[2].slug, teams[0].slug])

    output = rollout("plan", PAIR)

    assert "  team-2: waiting, 0 of 50 comparisons for the current code\n  team-0: waiting" in output
    assert "team-1" not in output
    assert "next: wait (no team is ready yet)" in output


def test_the_retirement_notes_take_one_query_whatever_the_number_of_plans(pair, make_pair, team):
    """The notes' provider reads the completed plans in one query; status costs the same with three of them."""
    for name in ("test.a", "test.b"):
        make_pair(name, legacy=legacy_total, optimized=optimized_total)
    with CaptureQueriesContext(connection) as before:
        rollout("status")
    for name in (PAIR, "test.a", "test.b"):
        RolloutPlan.objects.create(pair_name=name, status=Status.COMPLETED)

    with CaptureQueriesContext(connection) as after:
        output = rollout("status")
    with CaptureQueriesContext(connection) as notes:
        assert len(cli.retirement_notes()) == 3

    assert (len(after), len(notes)) == (len(before), 1)
    assert output.count("ready to retire legacy") == 3
