"""The autopilot with an injected clock: steps, bake, halt and roll back, skip with reasons, pause on a code
change or a rollback by hand, daily limits, completion, and one run at a time (the advisory lock)."""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

import flags
from flags import services
from flags.models import FlagAudit
from shadow import autopilot, pairs
from shadow.errors import PlanStateError
from shadow.models import MS_BUCKETS, ArgumentSet, FailureTally, PlanDecision, RolloutPlan
from tests.factories import DailyEvidenceFactory, PullRequestFactory, TeamFactory
from tests.shadow.sides import constant_legacy, constant_optimized

PAIR = "test.autopilot"
OPERATOR = "user:olga"
Status = RolloutPlan.Status



@pytest.fixture
def pair(make_pair, settings):
    # The readiness gate (which also judges the autopilot's enables) needs what the plans below need.
    settings.SHADOW_MIN_COMPARISONS = 10
    return make_pair(PAIR, legacy=constant_legacy, optimized=constant_optimized)


def histogram(bound: float, count: int) -> list[int]:
    values = [0] * (len(MS_BUCKETS) + 1)
    values[MS_BUCKETS.index(bound)] = count
    return values


def make_ready(team, *, comparisons: int = 10, argument_sets: int = 3, optimized_ms: float = 10) -> None:
    """Clean evidence for the pair's current code: comparisons, distinct argument sets, both sides timed."""
    DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=comparisons, matches=comparisons, measured_runs=comparisons,
        legacy_ms_histogram=histogram(50, comparisons), optimized_ms_histogram=histogram(optimized_ms, comparisons),
    )
    revisions = pairs.get(PAIR).revisions()
    for number in range(argument_sets):
        ArgumentSet.objects.create(
            pair_name=PAIR, team=team, legacy_revision=revisions["legacy"], optimized_revision=revisions["optimized"],
            arguments_hash=f"{team.pk:08x}{number:08x}", last_day=timezone.now().date(),
        )


def active_plan(*, teams, now, **fields) -> RolloutPlan:
    values = {"step_size": 2, "bake_minutes": 60, "min_comparisons": 10, "min_argument_sets": 3, **fields}
    plan = RolloutPlan.objects.create(pair_name=PAIR, teams=[team.slug for team in teams], **values)
    autopilot.start(plan, actor=OPERATOR, reason="go", now=now)
    return plan


def on(*teams) -> list[bool]:
    return [flags.is_enabled(PAIR, team=team) for team in teams]


def actions(plan: RolloutPlan) -> list[tuple[str, str]]:
    return list(plan.decisions.order_by("created_at", "id").values_list("action", "team_slug"))


@pytest.fixture
def six(db, pair):
    teams = [TeamFactory(slug=f"team-{number}") for number in range(1, 7)]
    for team in teams:
        make_ready(team)
    return teams


NOW = timezone.now().replace(microsecond=0)


def later(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


# --- steps and bake ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_plan_over_six_teams_promotes_two_per_step_after_the_bake_time(six):
    plan = active_plan(teams=six, now=NOW)

    autopilot.run(now=later(1))
    assert on(*six) == [True, True, False, False, False, False]

    # Baking: runs before the bake time is up change nothing, however many there are.
    for minute in (2, 30, 60):
        assert autopilot.run(now=later(minute)).decisions[PAIR] == []
    assert on(*six) == [True, True, False, False, False, False]

    autopilot.run(now=later(62))
    assert on(*six) == [True, True, True, True, False, False]
    autopilot.run(now=later(123))
    assert on(*six) == [True] * 6

    assert actions(plan) == [("start", ""), *[("promote", team.slug) for team in six]]
    plan.refresh_from_db()
    assert plan.status == Status.ACTIVE
    assert autopilot.explain(plan, now=later(124)).kind == "bake"


@pytest.mark.django_db
def test_each_promotion_is_audited_as_the_autopilot_with_its_evidence(six):
    plan = active_plan(teams=six[:1], now=NOW)

    autopilot.run(now=later(1))

    entry = FlagAudit.objects.get(flag_name=PAIR, team_slug="team-1")
    revisions = pairs.get(PAIR).revisions()
    assert (entry.actor, entry.before, entry.after) == ("system:autopilot", "off", "on")
    assert entry.reason == (
        "autopilot step 1: 10 comparisons, 3 argument sets, 0 mismatches, 0 errors, p95 legacy 49 ms / optimized 10 ms, "
        f"code {revisions['legacy']}→{revisions['optimized']}"
    )
    decision = plan.decisions.get(action="promote")
    assert decision.evidence["comparisons"] == 10
    assert decision.evidence["revisions"] == revisions


@pytest.mark.django_db
def test_a_mismatch_during_the_bake_halts_the_plan_and_rolls_back_that_steps_teams(six):
    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    autopilot.run(now=later(62))
    assert on(*six[:4]) == [True] * 4

    # While team-3 and team-4 bake, team-4's optimized side mismatches legacy (the guarded rollback's tally).
    FailureTally.objects.create(pair_name=PAIR, team=six[3], day=later(70).date(), mismatches=1)
    autopilot.run(now=later(70))

    plan.refresh_from_db()
    assert plan.status == Status.HALTED
    assert "team-4: 1" in plan.status_reason
    # The step's teams go back; the earlier step's stay on.
    assert on(*six[:4]) == [True, True, False, False]
    assert actions(plan)[-3:] == [("roll_back", "team-3"), ("roll_back", "team-4"), ("halt", "")]
    assert FlagAudit.objects.filter(flag_name=PAIR, team_slug="team-3").latest("id").actor == "system:autopilot"
    # Halted: later runs do nothing.
    assert PAIR not in autopilot.run(now=later(200)).decisions


@pytest.mark.django_db
def test_a_team_without_enough_evidence_for_the_current_code_is_skipped_and_explained(pair):
    ready, short, old_code = TeamFactory(slug="a-ready"), TeamFactory(slug="b-short"), TeamFactory(slug="c-old")
    make_ready(ready)
    make_ready(short, comparisons=4)
    # Plenty of clean evidence, but for code that no longer runs.
    DailyEvidenceFactory(pair_name=PAIR, team=old_code, runs=40, matches=40, legacy_revision="old", optimized_revision="old")
    plan = active_plan(teams=[ready, short, old_code], now=NOW)

    explanation = autopilot.explain(plan, now=later(1))

    assert [verdict.line() for verdict in explanation.teams] == [
        "a-ready: would promote",
        "b-short: waiting, 4 of 10 comparisons for the current code",
        "c-old: waiting, 0 of 10 comparisons for the current code",
    ]
    autopilot.run(now=later(1))
    assert on(ready, short, old_code) == [True, False, False]


@pytest.mark.django_db
def test_a_slower_optimized_p95_or_a_mismatch_in_the_window_keeps_a_team_waiting(pair):
    slow, mismatched = TeamFactory(slug="slow"), TeamFactory(slug="mismatched")
    make_ready(slow, optimized_ms=100)
    make_ready(mismatched)
    DailyEvidenceFactory(
        pair_name=PAIR, team=mismatched, runs=1, mismatches=1, day=timezone.now().date() - dt.timedelta(days=1)
    )
    plan = active_plan(teams=[slow, mismatched], now=NOW)

    assert [verdict.line() for verdict in autopilot.explain(plan, now=later(1)).teams] == [
        "slow: waiting, optimized p95 99 ms is over 1.20× legacy p95 49 ms",
        "mismatched: waiting, 1 mismatches, 0 errors and 0 timeouts in 7 days",
    ]


# --- pausing ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_code_change_pauses_the_plan_and_restarts_the_analysis(six):
    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    # The analysis was for other code: what runs now has changed since.
    RolloutPlan.objects.filter(pk=plan.pk).update(revisions={"legacy": "0ld", "optimized": "0ld"})

    autopilot.run(now=later(62))

    plan.refresh_from_db()
    assert plan.status == Status.PAUSED
    assert plan.status_reason.startswith("the code changed (legacy 0ld→")
    assert plan.revisions == pairs.get(PAIR).revisions()
    assert actions(plan)[-1] == ("restart", "")
    assert on(*six) == [True, True, False, False, False, False]
    # Paused: nothing more until someone resumes it.
    assert PAIR not in autopilot.run(now=later(200)).decisions
    autopilot.start(plan, actor=OPERATOR, reason="new code reviewed", now=later(201))
    autopilot.run(now=later(202))
    assert on(*six) == [True, True, True, True, False, False]


@pytest.mark.django_db
def test_a_rollback_by_hand_during_a_plan_pauses_it(six):
    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    services.disable_for_teams(name=PAIR, teams=[six[1]], actor=OPERATOR, reason="slow dashboard reported")

    autopilot.run(now=later(62))

    plan.refresh_from_db()
    assert plan.status == Status.PAUSED
    assert plan.status_reason == "team-2 was switched off by user:olga (slow dashboard reported); resume when settled"
    # Not undone, and nobody else promoted.
    assert on(*six) == [True, False, False, False, False, False]
    assert actions(plan)[-2:] == [("roll_back", "team-2"), ("pause", "")]
    assert plan.decisions.get(action="roll_back").actor == OPERATOR

    # Resumed: the team switched off by hand stays off, said so; the others go on.
    autopilot.start(plan, actor=OPERATOR, reason="dashboard fine again", now=later(70))
    assert autopilot.explain(plan, now=later(71)).teams[1].line() == "team-2: blocked, switched off by user:olga"
    autopilot.run(now=later(71))
    assert on(*six) == [True, False, True, True, False, False]


@pytest.mark.django_db
def test_a_kill_pauses_the_plan(six):
    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    services.set_everyone(name=PAIR, everyone=False, actor=OPERATOR, reason="incident")

    autopilot.run(now=later(62))

    plan.refresh_from_db()
    assert (plan.status, plan.status_reason) == (Status.PAUSED, f"{PAIR} was killed; restore it, then resume the plan")
    assert on(*six) == [False] * 6


@pytest.mark.django_db
def test_after_a_halt_is_resumed_the_failure_that_halted_it_no_longer_counts(six):
    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    autopilot.run(now=later(62))
    # A failure of a team of the first step: the halt rolls back the current step only.
    FailureTally.objects.create(pair_name=PAIR, team=six[0], day=later(70).date(), errors=1)
    autopilot.run(now=later(70))
    assert on(*six[:4]) == [True, True, False, False]

    autopilot.start(plan, actor=OPERATOR, reason="error explained: a timeout upstream", now=later(80))
    autopilot.run(now=later(81))

    plan.refresh_from_db()
    assert plan.status == Status.ACTIVE
    assert on(*six[:4]) == [True, True, True, True]


@pytest.mark.django_db
def test_an_automatic_rollback_of_a_promoted_team_halts_the_plan(six):
    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    services.disable_for_teams(name=PAIR, teams=[six[0]], actor="system:auto-rollback", reason="5 mismatches today")

    autopilot.run(now=later(30))

    plan.refresh_from_db()
    assert plan.status == Status.HALTED
    assert on(*six[:2]) == [False, False]


# --- limits, order, completion, dry run ----------------------------------------------------------------


@pytest.mark.django_db
def test_no_more_than_the_daily_limit_is_promoted_in_a_day(six):
    day = NOW.replace(hour=8, minute=0, second=0)
    plan = active_plan(teams=six, now=day, max_teams_per_day=3, bake_minutes=10)

    autopilot.run(now=day + dt.timedelta(minutes=1))
    autopilot.run(now=day + dt.timedelta(minutes=20))
    autopilot.run(now=day + dt.timedelta(minutes=40))
    assert on(*six) == [True, True, True, False, False, False]
    assert autopilot.explain(plan, now=day + dt.timedelta(minutes=41)).reason == "daily limit reached"

    autopilot.run(now=day + dt.timedelta(days=1))
    assert on(*six) == [True, True, True, True, True, False]


@pytest.mark.django_db
def test_without_a_team_list_the_smallest_teams_go_first(pair):
    big, middle = TeamFactory(slug="a-big"), TeamFactory(slug="c-middle")
    TeamFactory(slug="b-small")
    PullRequestFactory.create_batch(3, team=big)
    PullRequestFactory.create_batch(1, team=middle)
    plan = RolloutPlan.objects.create(pair_name=PAIR)

    assert [team.slug for team in autopilot.plan_teams(plan)] == ["b-small", "c-middle", "a-big"]


@pytest.mark.django_db
def test_when_every_team_has_been_on_long_enough_the_plan_completes_with_what_to_remove(six):
    plan = active_plan(teams=six[:2], now=NOW, retire_after_days=14)
    autopilot.run(now=later(1))

    assert autopilot.explain(plan, now=later(120)).reason == (
        "every team is on; 2 not yet on for 14 days: team-1, team-2"
    )
    autopilot.run(now=later(60 * 24 * 15))

    plan.refresh_from_db()
    assert plan.status == Status.COMPLETED
    assert plan.status_reason == (
        "ready to retire legacy: remove tests/shadow/sides.py: constant_legacy, the pair's registration "
        f"and the flag {PAIR}"
    )
    assert [item.pair_name for item in autopilot.ready_to_retire()] == [PAIR]


@pytest.mark.django_db
def test_a_dry_run_plan_is_explained_but_never_acted_on(six):
    plan = RolloutPlan.objects.create(pair_name=PAIR, teams=[team.slug for team in six], min_comparisons=10)

    assert autopilot.explain(plan, now=later(1)).kind == "promote"
    assert autopilot.run(now=later(1)).decisions == {}
    assert on(*six) == [False] * 6
    assert not PlanDecision.objects.exists()


# --- one run at a time ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_while_another_holds_the_lock_does_nothing(six):
    active_plan(teams=six, now=NOW)
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"], dbname=settings["NAME"],
        password=settings["PASSWORD"] or None, autocommit=False,
    ) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [autopilot.LOCK_KEY])

        report = autopilot.run(now=later(1))

    assert report.locked is False
    assert on(*six) == [False] * 6


@pytest.mark.django_db(transaction=True)
def test_two_runs_started_together_act_once(six):
    plan = active_plan(teams=six, now=NOW)
    barrier = threading.Barrier(2)
    reports = []

    def one_run() -> None:
        try:
            barrier.wait()
            reports.append(autopilot.run(now=later(1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Whichever ran second found the lock held, or the step already baking: one step either way.
    assert len(reports) == 2
    assert [action for action, _ in actions(plan)].count("promote") == 2
    assert on(*six) == [True, True, False, False, False, False]
    assert FlagAudit.objects.filter(flag_name=PAIR, actor="system:autopilot", team_id__isnull=False).count() == 2


# --- edges -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_team_the_gate_refuses_waits_with_the_gates_reason_rather_than_being_promoted_forever(pair, settings):
    """The plan asks for 10 comparisons, the gate for 20: the team waits, and says why."""
    settings.SHADOW_MIN_COMPARISONS = 20
    team = TeamFactory(slug="acme")
    make_ready(team)
    plan = active_plan(teams=[team], now=NOW)

    explanation = autopilot.explain(plan, now=later(1))

    assert explanation.teams[0].line() == "acme: waiting, the readiness gate: 10 of 20 comparisons in the last 7 days"
    assert explanation.kind == "idle"
    autopilot.run(now=later(1))
    assert on(team) == [False]


@pytest.mark.django_db
def test_a_plan_whose_teams_do_not_exist_never_completes(pair):
    plan = active_plan(teams=[], now=NOW, retire_after_days=0)
    RolloutPlan.objects.filter(pk=plan.pk).update(teams=["ghost"])
    plan.refresh_from_db()

    autopilot.run(now=later(1))

    plan.refresh_from_db()
    assert plan.status == Status.ACTIVE
    assert autopilot.explain(plan, now=later(2)).reason == "the plan has no teams: its list names none that exist"


@pytest.mark.django_db
def test_a_team_switched_on_by_hand_must_be_clean_too_before_the_plan_completes(six):
    plan = active_plan(teams=six[:2], now=NOW, retire_after_days=1)
    services.enable_for_teams(name=PAIR, teams=[six[1]], actor=OPERATOR, reason="early adopter")
    autopilot.run(now=later(1))
    FailureTally.objects.create(pair_name=PAIR, team=six[1], day=later(2).date(), mismatches=3)

    autopilot.run(now=later(60 * 25))

    plan.refresh_from_db()
    assert plan.status == Status.ACTIVE
    assert autopilot.explain(plan, now=later(60 * 26)).reason == (
        "every team is on, but not clean: mismatches or optimized errors (team-2: 3)"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "move"), [
    (Status.ABORTED, autopilot.start), (Status.COMPLETED, autopilot.start), (Status.ACTIVE, autopilot.start),
    (Status.PAUSED, autopilot.pause), (Status.DRY_RUN, autopilot.pause), (Status.COMPLETED, autopilot.abort),
])
def test_impossible_moves_are_refused_and_change_nothing(pair, status, move):
    plan = RolloutPlan.objects.create(pair_name=PAIR, status=status)

    with pytest.raises(PlanStateError, match=f"a plan that is {plan.get_status_display().lower()}"):
        move(plan, actor=OPERATOR, reason="try", now=NOW)

    plan.refresh_from_db()
    assert plan.status == status
    assert not plan.decisions.exists()


@pytest.mark.django_db
def test_without_a_bake_time_a_second_run_at_the_same_moment_does_nothing(six):
    plan = active_plan(teams=six, now=NOW, bake_minutes=0)

    autopilot.run(now=later(1))
    autopilot.run(now=later(1))
    assert on(*six) == [True, True, False, False, False, False]

    autopilot.run(now=later(2))
    assert on(*six) == [True, True, True, True, False, False]
    assert [action for action, _ in actions(plan)].count("promote") == 4


@pytest.mark.django_db
def test_a_promoted_team_unlisted_rather_than_blocked_is_recorded_as_switched_off_by_whoever_did_it(six):
    from flags.audit import attributed_to
    from flags.models import Flag

    plan = active_plan(teams=six, now=NOW)
    autopilot.run(now=later(1))
    with attributed_to(OPERATOR, "taken off the list in the admin"):
        Flag.objects.get(name=PAIR).teams.remove(six[0])

    autopilot.run(now=later(62))

    plan.refresh_from_db()
    assert plan.status == Status.PAUSED
    assert plan.status_reason.startswith("team-1 was switched off by user:olga (taken off the list in the admin)")
    assert plan.decisions.get(action="roll_back").actor == OPERATOR
