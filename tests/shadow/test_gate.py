"""The readiness gate on enabling a pair's flag (command, services, admin) and the guarded rollback, end to end.

Evidence is gathered by real comparisons (shadow.compare, sampled pair calls)
wherever the counts matter, so the gate is tested against what the runner
actually stores; DailyEvidenceFactory builds rows only for the window edges.
"""

from __future__ import annotations

import datetime as dt
import getpass

import pytest
from django.urls import reverse
from django.utils import timezone

import flags
import shadow
from flags import services
from flags.errors import FlagError, GateRefusedError
from flags.models import FlagAudit
from flags.registry import ROLLOUT_FLAGS, RolloutFlag
from shadow.gate import AUTO_ROLLBACK_ACTOR, Failures, roll_back_if_needed
from tests.factories import DailyEvidenceFactory, FlagFactory, TeamFactory
from tests.support.commands import rollout, rollout_error

pytestmark = pytest.mark.django_db


def today() -> str:
    """How the gate names today's date in its reasons ("Dec 2")."""
    day = timezone.now().date()
    return f"{day:%b} {day.day}"

PAIR = "test.pair"
ACTOR = f"cli:{getpass.getuser()}"
SETUP = "system:test-setup"
# The line a change ends with: when it reaches every process (FLAGS_MAX_STALE_SECONDS defaults to 5).
REACHED = (
    "This process serves the change now; every other process within 5 s (FLAGS_MAX_STALE_SECONDS), "
    "whatever the cache server does.\n"
)


def legacy_total(*, team, n: int = 1) -> dict:
    return {"n": n, "total": n * 2}


def optimized_total(*, team, n: int = 1) -> dict:
    """Agrees with legacy except for n = 7 (a wrong total) and n = 13 (it raises)."""
    if n == 13:
        raise ValueError("boom")
    return {"n": n, "total": n * 2 + (1 if n == 7 else 0)}


def always_wrong(*, team, n: int = 1) -> dict:
    return {"n": n, "total": -1}


def always_failing(*, team, n: int = 1) -> dict:
    raise RuntimeError("optimized is down")


def compare_times(team, count: int, *, n: int = 1) -> None:
    for _ in range(count):
        shadow.compare(PAIR, team=team, n=n)


def team_entries(name: str = PAIR) -> list[tuple]:
    return list(
        FlagAudit.objects.filter(flag_name=name, team_id__isnull=False)
        .order_by("created_at", "id")
        .values_list("team_slug", "actor", "before", "after", "reason")
    )


@pytest.fixture
def pair(make_pair, settings):
    """The test pair, with the gate asking for 5 clean comparisons in 7 days."""
    settings.SHADOW_MIN_COMPARISONS = 5
    settings.SHADOW_EVIDENCE_DAYS = 7
    return make_pair(PAIR, legacy=legacy_total, optimized=optimized_total)


# --- the gate through `rollout enable` -------------------------------------------------------


def test_enable_is_refused_with_exit_1_when_there_are_too_few_comparisons(pair, team):
    """4 clean comparisons of the 5 needed: exit status 1, the problem printed, the flag stays off, nothing audited."""
    compare_times(team, 4)

    error = rollout_error("enable", PAIR, "--team", "acme", "--reason", "pilot")

    assert error.returncode == 1
    assert str(error) == (
        f"{PAIR}: not enabled, the readiness gate refuses:\n"
        "  acme: 4 of 5 comparisons in the last 7 days\n"
        "Nothing was changed. To override, repeat with --force --reason TEXT (audited)."
    )
    assert flags.is_enabled(PAIR, team=team) is False
    assert team_entries() == []


def test_enable_is_refused_for_one_mismatch_among_plenty_of_matches(pair, team):
    """Twelve matches and one mismatch: refused, naming the mismatch."""
    compare_times(team, 12)
    compare_times(team, 1, n=7)

    error = rollout_error("enable", PAIR, "--team", "acme")

    assert error.returncode == 1
    assert f"  acme: 1 mismatch on {today()}\n" in str(error)
    assert flags.is_enabled(PAIR, team=team) is False


def test_enable_is_refused_for_one_error(pair, team):
    """Six matches and one comparison where optimized raised: refused, naming the error."""
    compare_times(team, 6)
    compare_times(team, 1, n=13)

    error = rollout_error("enable", PAIR, "--team", "acme")

    assert error.returncode == 1
    assert f"  acme: 1 error and 0 timeouts on {today()}\n" in str(error)
    assert flags.is_enabled(PAIR, team=team) is False


def test_enable_goes_through_when_the_evidence_is_clean(pair, team):
    """Five clean comparisons: the team is on at once and the entry carries the plain reason."""
    compare_times(team, 5)

    output = rollout("enable", PAIR, "--team", "acme", "--reason", "evidence is clean")

    assert output == f"{PAIR}: on for acme (was off)\n" + REACHED
    assert flags.is_enabled(PAIR, team=team) is True
    assert team_entries() == [("acme", ACTOR, "off", "on", "evidence is clean")]


def test_each_refused_team_is_listed_and_no_team_is_enabled(pair, team, other_team):
    """acme is ready, globex is not: refused for globex alone, and acme is not enabled either."""
    compare_times(team, 5)
    compare_times(other_team, 2)

    error = rollout_error("enable", PAIR, "--team", "acme", "--team", "globex")

    assert "  globex: 2 of 5 comparisons in the last 7 days\n" in str(error)
    assert "acme:" not in str(error)
    assert (flags.is_enabled(PAIR, team=team), flags.is_enabled(PAIR, team=other_team)) == (False, False)


def test_evidence_of_another_team_or_outside_the_window_does_not_count(pair, team, other_team):
    """globex's clean comparisons and acme's from 7 days ago do not make acme ready; 6 days ago still counts."""
    compare_times(other_team, 5)
    today = timezone.now().date()
    DailyEvidenceFactory(pair_name=PAIR, team=team, day=today - dt.timedelta(days=7), runs=50, matches=50)
    DailyEvidenceFactory(pair_name=PAIR, team=team, day=today - dt.timedelta(days=6), runs=3, matches=3)

    error = rollout_error("enable", PAIR, "--team", "acme")

    assert "  acme: 3 of 5 comparisons in the last 7 days\n" in str(error)


def test_timeouts_count_against_readiness(pair, team):
    """A day with clean comparisons and one timeout is not ready."""
    DailyEvidenceFactory(pair_name=PAIR, team=team, runs=11, matches=10, timeouts=1)

    error = rollout_error("enable", PAIR, "--team", "acme")

    assert f"  acme: 0 errors and 1 timeout on {today()}\n" in str(error)


def test_force_with_a_reason_goes_past_the_gate_and_is_audited_as_forced(pair, team):
    """--force --reason: on despite the refusal, a warning names what was overridden, the entry starts FORCED."""
    compare_times(team, 4)

    output = rollout("enable", PAIR, "--team", "acme", "--force", "--reason", "hotfix needs the fast path")

    assert output == (
        f"{PAIR}: FORCED past the readiness gate, which refused:\n"
        "  acme: 4 of 5 comparisons in the last 7 days\n"
        f"{PAIR}: on for acme (was off)\n"
        + REACHED
    )
    assert flags.is_enabled(PAIR, team=team) is True
    assert team_entries() == [(
        "acme", ACTOR, "off", "on",
        "FORCED past readiness gate (acme: 4 of 5 comparisons in the last 7 days): hotfix needs the fast path",
    )]


@pytest.mark.parametrize("reason", [[], ["--reason", "  "]], ids=["no reason", "blank reason"])
def test_force_without_a_reason_is_a_usage_error_and_changes_nothing(pair, team, reason):
    """--force with no (or a blank) reason: exit status 2, the flag stays off, nothing audited."""
    error = rollout_error("enable", PAIR, "--team", "acme", "--force", *reason)

    assert error.returncode == 2
    assert str(error) == "--force needs a --reason: it is recorded in the audit log"
    assert flags.is_enabled(PAIR, team=team) is False
    assert FlagAudit.objects.count() == 0


def test_disabling_is_never_gated(pair, team):
    """The rollback needs no evidence: disable works with none."""
    services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="setup", force=True)

    assert rollout("disable", PAIR, "--team", "acme") == f"{PAIR}: off for acme (was on)\n" + REACHED
    assert flags.is_enabled(PAIR, team=team) is False


def test_a_flag_without_a_pair_is_not_gated(pair, team):
    """A rollout flag that no pair uses is enabled without any evidence."""
    with ROLLOUT_FLAGS.temporarily(RolloutFlag("test.unpaired", "Test-only flag without a pair", owner="tests")):
        output = rollout("enable", "test.unpaired", "--team", "acme")

        assert output == "test.unpaired: on for acme (was off)\n" + REACHED
        assert flags.is_enabled("test.unpaired", team=team) is True


# --- the gate through the services -----------------------------------------------------------


def test_the_service_raises_gate_refused_with_the_problems(pair, team):
    """enable_for_teams raises GateRefusedError listing each problem and changes nothing."""
    compare_times(team, 1, n=7)

    with pytest.raises(GateRefusedError) as caught:
        services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP)

    assert caught.value.problems == [f"acme: 1 of 5 comparisons in the last 7 days, 1 mismatch on {today()}"]
    assert team_entries() == []


def test_the_service_refuses_force_without_a_reason(pair, team):
    """force=True with an empty reason is a FlagError, not a silent override."""
    with pytest.raises(FlagError, match="needs a reason"):
        services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, force=True)

    assert flags.is_enabled(PAIR, team=team) is False


# --- the gate in the admin's "Enable for teams…" action ---------------------------------------


def confirm_enable(client, flag, team, **data):
    return client.post(
        reverse("admin:flags_flag_changelist"),
        {
            "action": "enable_for_teams", "_selected_action": [flag.pk], "confirm": "yes",
            "teams": [team.pk], "reason": "Pilot", **data,
        },
    )


def test_the_admin_action_shows_the_refusal_and_offers_force(admin_client, pair, team):
    """Confirming without evidence re-renders the page with the gate's problems and a force checkbox; nothing changes."""
    flag = FlagFactory(name=PAIR, superusers=False)
    compare_times(team, 2)

    response = confirm_enable(admin_client, flag, team)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The readiness gate refuses to enable these teams. Nothing was changed." in page
    assert "<li>acme: 2 of 5 comparisons in the last 7 days</li>" in page
    assert 'name="force"' in page
    assert flags.is_enabled(PAIR, team=team) is False
    assert team_entries() == []


def test_the_admin_action_does_not_offer_force_before_a_refusal(admin_client, pair, team):
    """The first confirmation page has no force checkbox."""
    flag = FlagFactory(name=PAIR, superusers=False)

    response = admin_client.post(
        reverse("admin:flags_flag_changelist"), {"action": "enable_for_teams", "_selected_action": [flag.pk]}
    )

    assert 'name="force"' not in response.content.decode()


def test_the_admin_action_forced_with_the_reason_enables_and_audits(admin_client, pair, team):
    """Ticking force (with the required reason) enables the team; the entry starts FORCED."""
    flag = FlagFactory(name=PAIR, superusers=False)
    compare_times(team, 2)

    response = confirm_enable(admin_client, flag, team, force="on")

    assert response.status_code == 302
    assert flags.is_enabled(PAIR, team=team) is True
    assert team_entries() == [(
        "acme", "user:admin", "off", "on",
        "FORCED past readiness gate (acme: 2 of 5 comparisons in the last 7 days): Pilot",
    )]


def test_the_admin_action_forced_without_a_reason_is_refused(admin_client, pair, team):
    """Force still needs the reason: the page comes back with the reason error and nothing changes."""
    flag = FlagFactory(name=PAIR, superusers=False)

    response = confirm_enable(admin_client, flag, team, force="on", reason="")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Give a reason: it is recorded in the audit log." in page
    assert 'name="force"' in page
    assert flags.is_enabled(PAIR, team=team) is False


def test_the_admin_action_enables_when_the_evidence_is_clean(admin_client, pair, team):
    """Clean evidence: enabled with the plain reason, no force needed."""
    flag = FlagFactory(name=PAIR, superusers=False)
    compare_times(team, 5)

    response = confirm_enable(admin_client, flag, team)

    assert response.status_code == 302
    assert team_entries() == [("acme", "user:admin", "off", "on", "Pilot")]


def change_form(flag, *, teams) -> dict:
    return {"note": "", "everyone": "unknown", "percent": "", "teams": [team.pk for team in teams], "blocked_teams": []}


def test_listing_a_team_in_the_change_form_is_gated_too(admin_client, pair, team):
    """The change form's team list switches teams on as the action does: refused without evidence, nothing saved."""
    flag = FlagFactory(name=PAIR, superusers=False)
    compare_times(team, 2)

    response = admin_client.post(reverse("admin:flags_flag_change", args=[flag.pk]), change_form(flag, teams=[team]))

    assert response.status_code == 200
    assert (
        "The readiness gate refuses the teams this change switches on: acme: 2 of 5 comparisons in the last 7 days. "
        "Nothing was changed." in response.content.decode()
    )
    assert list(flag.teams.all()) == []
    assert team_entries() == []


def test_teams_already_listed_do_not_block_other_edits_in_the_change_form(admin_client, pair, team):
    """A team listed before (here: forced) stays listed when the form is saved again for another change."""
    flag = FlagFactory(name=PAIR, superusers=False)
    services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="setup", force=True)

    response = admin_client.post(
        reverse("admin:flags_flag_change", args=[flag.pk]), {**change_form(flag, teams=[team]), "percent": "10"}
    )

    flag.refresh_from_db()
    assert response.status_code == 302
    assert flag.percent == 10
    assert flags.is_enabled(PAIR, team=team) is True


# --- the guarded rollback ---------------------------------------------------------------------


@pytest.fixture
def rollback_threshold(settings):
    settings.SHADOW_ROLLBACK_THRESHOLD = 3
    return 3


def auto_rollback_events(events: list[dict]) -> list[dict]:
    return [event for event in events if event.get("message", "").startswith("Auto-rollback of")]


def test_mismatches_while_optimized_serves_roll_the_team_back_at_the_threshold(
    make_pair, sample_everything, rollback_threshold, sentry_events, team, other_team
):
    """Optimized answering wrong on sampled calls: on after 2, off after the 3rd, audited, reported to Sentry.

    No wrong answer reaches a caller meanwhile: each mismatching call is answered with legacy's value.
    """
    answer = make_pair(PAIR, legacy=legacy_total, optimized=always_wrong)
    services.enable_for_teams(name=PAIR, teams=[team, other_team], actor=SETUP, reason="setup", force=True)

    assert [answer(team=team, n=2) for _ in range(2)] == [{"n": 2, "total": 4}] * 2
    assert flags.is_enabled(PAIR, team=team) is True

    assert answer(team=team, n=2) == {"n": 2, "total": 4}

    assert flags.is_enabled(PAIR, team=team) is False
    assert flags.is_enabled(PAIR, team=other_team) is True
    assert answer(team=team, n=2) == {"n": 2, "total": 4}
    [entry] = FlagAudit.objects.filter(flag_name=PAIR, actor=AUTO_ROLLBACK_ACTOR)
    assert (entry.team_slug, entry.before, entry.after, entry.reason) == (
        "acme", "on", "off", "3 mismatches and 0 optimized errors today while optimized served (threshold 3)",
    )
    [event] = auto_rollback_events(sentry_events.wait_for_events(5))
    assert event["message"] == "Auto-rollback of test.pair for team acme"
    assert event["level"] == "error"
    assert event["tags"]["shadow.pair"] == PAIR
    assert event["contexts"]["shadow"]["reason"] == entry.reason


def test_optimized_serving_errors_on_unsampled_calls_count_towards_the_rollback(
    make_pair, settings, rollback_threshold, sentry_events, team
):
    """Unsampled calls where optimized raises: legacy answers each time, and the 3rd error flips the team back."""
    settings.SHADOW_DEFAULT_RATE = 0
    answer = make_pair(PAIR, legacy=legacy_total, optimized=always_failing)
    services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="setup", force=True)

    assert [answer(team=team, n=3) for _ in range(3)] == [{"n": 3, "total": 6}] * 3

    assert flags.is_enabled(PAIR, team=team) is False
    [entry] = FlagAudit.objects.filter(flag_name=PAIR, actor=AUTO_ROLLBACK_ACTOR)
    assert entry.reason == "0 mismatches and 3 optimized errors today while optimized served (threshold 3)"
    [event] = auto_rollback_events(sentry_events.wait_for_events(4))
    assert event["message"] == "Auto-rollback of test.pair for team acme"


def test_mismatches_while_legacy_serves_never_roll_anything_back(
    make_pair, sample_everything, rollback_threshold, team
):
    """A team on legacy is not "rolled back": its mismatches are evidence, not rollback triggers."""
    answer = make_pair(PAIR, legacy=legacy_total, optimized=always_wrong)

    assert [answer(team=team, n=1) for _ in range(4)] == [{"n": 1, "total": 2}] * 4

    assert FlagAudit.objects.filter(actor=AUTO_ROLLBACK_ACTOR).count() == 0
    assert flags.is_enabled(PAIR, team=team) is False


def test_after_a_rollback_the_gate_refuses_to_enable_again(
    make_pair, sample_everything, rollback_threshold, settings, team
):
    """The mismatches that caused the rollback are evidence too: re-enabling is refused."""
    settings.SHADOW_MIN_COMPARISONS = 3
    answer = make_pair(PAIR, legacy=legacy_total, optimized=always_wrong)
    services.enable_for_teams(name=PAIR, teams=[team], actor=SETUP, reason="setup", force=True)
    for _ in range(3):
        answer(team=team, n=1)

    error = rollout_error("enable", PAIR, "--team", "acme")

    assert error.returncode == 1
    assert f"  acme: 3 mismatches on {today()}\n" in str(error)


def test_a_team_that_no_longer_exists_is_not_rolled_back(make_pair, team):
    """roll_back_if_needed with a deleted team's id does nothing (history outlives teams)."""
    make_pair(PAIR, legacy=legacy_total, optimized=always_wrong)
    gone = TeamFactory()
    gone_id = gone.pk
    gone.delete()

    assert roll_back_if_needed(PAIR, gone_id, Failures(mismatches=9, errors=0)) is False
