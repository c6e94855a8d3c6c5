"""flags.is_enabled and waffle's own entry points answer per team, everywhere, at zero queries when warm."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connection, transaction

import flags
from flags.audit import attributed_to
from flags.errors import UnknownFlagError
from flags.models import Flag, FlagAudit
from flags.percent import team_in_percentage
from tests.factories import FlagFactory, MembershipFactory, TeamFactory, UserFactory
from tests.flags.tasks import flag_state_task
from tests.support.processes import run_manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_a(db):
    return TeamFactory(slug="team-a")


@pytest.fixture
def team_b(db):
    return TeamFactory(slug="team-b")


@pytest.fixture
def on_for_a(rollout_flag, team_a, django_capture_on_commit_callbacks):
    """The test flag with team A listed and nothing else, as committed state (on-commit hooks run)."""
    with django_capture_on_commit_callbacks(execute=True):
        flag = FlagFactory(name=rollout_flag, everyone=None, superusers=False)
        flag.teams.add(team_a)
    return flag


def test_on_for_listed_team_only(on_for_a, team_a, team_b):
    """A listed team is on; any other team is off."""
    assert (flags.is_enabled(on_for_a.name, team=team_a), flags.is_enabled(on_for_a.name, team=team_b)) == (True, False)


def test_a_flag_without_a_row_is_off(rollout_flag, team_a):
    """A registered flag nobody has switched yet is off for every team."""
    assert flags.is_enabled(rollout_flag, team=team_a) is False


@pytest.mark.urls("tests.flags.urls")
def test_views_and_templates_answer_for_request_team(client, on_for_a, team_a, team_b):
    """waffle's flag_is_active(request, name) and {% flag %} answer for request.team."""
    user = UserFactory()
    MembershipFactory(user=user, team=team_a)
    MembershipFactory(user=user, team=team_b)
    client.force_login(user)
    assert client.get("/app/team-a/flag-probe/").content == b"view:on tag:on"
    assert client.get("/app/team-b/flag-probe/").content == b"view:off tag:off"


@pytest.mark.urls("tests.flags.urls")
def test_superusers_get_no_special_treatment(client, on_for_a, team_b):
    """waffle turns flags on for superusers by default; rollout flags ignore that."""
    admin = UserFactory(is_superuser=True, is_staff=True)
    MembershipFactory(user=admin, team=team_b)
    on_for_a.superusers = True
    on_for_a.save()
    client.force_login(admin)
    assert client.get("/app/team-b/flag-probe/").content == b"view:off tag:off"


def test_celery_task_sees_the_same_answer(on_for_a, team_a, team_b):
    """A task that loads the team by id gets the team's answer (no request involved)."""
    assert flag_state_task.delay(on_for_a.name, team_a.pk).get() is True
    assert flag_state_task.delay(on_for_a.name, team_b.pk).get() is False


@pytest.mark.django_db(transaction=True)
def test_shell_in_another_process_sees_the_same_answer():
    """`manage.py shell` in a separate process answers from the same rows."""
    team_a = TeamFactory(slug="shell-a")
    TeamFactory(slug="shell-b")
    FlagFactory(name="metrics.team_breakdown", everyone=None, superusers=False).teams.add(team_a)
    code = (
        "import flags; from apps.teams.models import Team; "
        "print([flags.is_enabled('metrics.team_breakdown', team=Team.objects.get(slug=s)) for s in ('shell-a', 'shell-b')])"
    )
    result = run_manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[True, False]"


def test_kill_switch_wins_over_listed_teams(on_for_a, team_a):
    """everyone = False turns the flag off for every team, listed or not."""
    on_for_a.everyone = False
    on_for_a.save()
    assert flags.is_enabled(on_for_a.name, team=team_a) is False


def test_everyone_on_covers_unlisted_teams_but_not_blocked_ones(on_for_a, team_a, team_b):
    """everyone = True is on for all teams, except a team rolled back individually."""
    third = TeamFactory()
    on_for_a.everyone = True
    on_for_a.save()
    on_for_a.blocked_teams.add(third)
    assert [flags.is_enabled(on_for_a.name, team=t) for t in (team_a, team_b, third)] == [True, True, False]


def test_percentage_selects_exactly_the_teams_in_their_bucket(rollout_flag):
    """At 30 % the flag is on for precisely the teams whose salted bucket is below 300."""
    teams = TeamFactory.create_batch(40)
    FlagFactory(name=rollout_flag, everyone=None, percent="30.0", superusers=False)
    answers = [flags.is_enabled(rollout_flag, team=t) for t in teams]
    expected = [team_in_percentage(rollout_flag, t.pk, 30) for t in teams]
    assert answers == expected
    assert 0 < sum(answers) < len(teams)


def test_percentage_turns_off_with_the_kill_switch(rollout_flag):
    """The kill switch also wins over the percentage."""
    teams = TeamFactory.create_batch(10)
    FlagFactory(name=rollout_flag, everyone=False, percent="99.9", superusers=False)
    assert not any(flags.is_enabled(rollout_flag, team=t) for t in teams)


def test_unknown_flag_raises_in_tests(team_a):
    """FLAGS_RAISE_ON_UNKNOWN (set for tests) makes an unregistered name an error listing the valid names."""
    with pytest.raises(UnknownFlagError, match="metrics.team_breakdown"):
        flags.is_enabled("metrics.no_such_pair", team=team_a)


def test_unknown_flag_logs_and_answers_off_in_production(settings, team_a, caplog):
    """Without the setting, an unregistered name is logged and answered "off"."""
    settings.FLAGS_RAISE_ON_UNKNOWN = False
    with caplog.at_level(logging.ERROR, logger="flags.evaluation"):
        assert flags.is_enabled("metrics.no_such_pair", team=team_a) is False
    assert "Unknown rollout flag 'metrics.no_such_pair'" in caplog.text


# --- speed and freshness -----------------------------------------------------------


def test_cold_evaluation_reads_two_rows_and_warm_reads_none(on_for_a, team_a, django_assert_num_queries):
    """Cold: the flags' versions, then the flag with its team lists (one query each); warm: no query at all."""
    with django_assert_num_queries(2):
        flags.is_enabled(on_for_a.name, team=team_a)
    with django_assert_num_queries(0):
        assert flags.is_enabled(on_for_a.name, team=team_a) is True


def test_warm_evaluation_of_many_teams_makes_no_query(on_for_a, django_assert_num_queries):
    """The process's copy holds the flag's team lists per flag, not per team."""
    teams = TeamFactory.create_batch(20)
    flags.is_enabled(on_for_a.name, team=teams[0])
    with django_assert_num_queries(0):
        answers = [flags.is_enabled(on_for_a.name, team=t) for t in teams]
    assert answers == [False] * 20


def test_teams_add_in_code_takes_effect_on_the_next_call(on_for_a, team_b):
    """flag.teams.add() gives the flag a new version and is seen at once by the connection that made it."""
    assert flags.is_enabled(on_for_a.name, team=team_b) is False
    on_for_a.teams.add(team_b)
    assert flags.is_enabled(on_for_a.name, team=team_b) is True


def test_reverse_relation_change_takes_effect_too(on_for_a, team_a):
    """team.flags.remove(flag) (the other side of the many-to-many) is seen at once too."""
    assert flags.is_enabled(on_for_a.name, team=team_a) is True
    team_a.flags.remove(on_for_a)
    assert flags.is_enabled(on_for_a.name, team=team_a) is False


def test_saving_the_flag_takes_effect_on_the_next_call(on_for_a, team_a):
    """A save (kill switch here) is seen at once by its own connection, not only on commit."""
    assert flags.is_enabled(on_for_a.name, team=team_a) is True
    flag = Flag.objects.get(pk=on_for_a.pk)
    flag.everyone = False
    flag.save()
    assert flags.is_enabled(on_for_a.name, team=team_a) is False


def test_deleting_the_flag_turns_it_off(on_for_a, team_a):
    """A deleted flag row is off on the next call."""
    assert flags.is_enabled(on_for_a.name, team=team_a) is True
    on_for_a.delete()
    assert flags.is_enabled(on_for_a.name, team=team_a) is False


# --- audit of changes made in code -------------------------------------------------


def test_code_changes_are_audited_as_unattributed_by_default(on_for_a, team_b):
    """A plain flag.teams.add() outside any attribution is recorded as system:unattributed."""
    on_for_a.teams.add(team_b)
    last = FlagAudit.objects.filter(flag_name=on_for_a.name).last()
    assert (last.scope, last.actor, last.before, last.after) == ("team-b", "system:unattributed", "off", "on")


def test_code_changes_inside_an_attribution_carry_actor_and_reason(on_for_a, team_a):
    """attributed_to() names the actor and reason; enable-style double changes make one entry per team."""
    with attributed_to("system:nightly-cleanup", reason="team left the pilot"):
        on_for_a.teams.remove(team_a)
        on_for_a.blocked_teams.add(team_a)
    entries = list(FlagAudit.objects.filter(flag_name=on_for_a.name, team_id=team_a.pk).values_list(
        "actor", "reason", "before", "after"
    ))
    assert entries[-1] == ("system:nightly-cleanup", "team left the pilot", "on", "off")
    assert len([e for e in entries if e[0] == "system:nightly-cleanup"]) == 1


# --- Sentry ------------------------------------------------------------------------


def test_error_events_carry_the_flags_evaluated_in_that_scope(on_for_a, team_a, team_b, sentry_events):
    """sentry-sdk's feature-flag buffer: an error after an evaluation lists the flag and its answer."""
    import sentry_sdk

    with sentry_sdk.isolation_scope() as scope:
        # A request or task starts with its own scope; earlier tests' evaluations are not part of this one.
        scope.flags.clear()
        flags.is_enabled(on_for_a.name, team=team_a)
        sentry_sdk.capture_exception(RuntimeError("boom in a flagged code path"))
    [event] = sentry_events.wait_for_events(1)
    assert event["contexts"]["flags"]["values"] == [{"flag": on_for_a.name, "result": True}]


# --- concurrency -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_readers_see_old_or_new_state_while_a_writer_flips(rollout_flag):
    """8 threads evaluate while another flips 100 times: no exception, and once the writer is done
    every reader's next answers are the final state (no stale entry survives the race)."""
    team = TeamFactory()
    flag = FlagFactory(name=rollout_flag, everyone=None, superusers=False)
    writer_done = threading.Event()
    during: list[object] = []
    after: list[object] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not writer_done.is_set():
                during.append(flags.is_enabled(rollout_flag, team=team))
            after.extend(flags.is_enabled(rollout_flag, team=team) for _ in range(20))
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever a reader hit
            errors.append(exc)
        finally:
            connection.close()

    readers = [threading.Thread(target=reader) for _ in range(8)]
    for thread in readers:
        thread.start()
    for flip in range(100):
        if flip % 2 == 0:
            flag.teams.add(team)
        else:
            flag.teams.remove(team)
    writer_done.set()
    for thread in readers:
        thread.join(timeout=30)

    assert errors == []
    assert len(during) > 0
    assert after == [False] * 160


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_never_reaches_the_process_copy(rollout_flag):
    """Inside a transaction the change is seen by its own connection only; rolled back, the old answer stays."""
    team = TeamFactory()
    flag = FlagFactory(name=rollout_flag, everyone=None, superusers=False)
    flag.teams.add(team)
    assert flags.is_enabled(rollout_flag, team=team) is True

    with pytest.raises(RuntimeError, match="abort"), transaction.atomic():
        flag.teams.remove(team)
        assert flags.is_enabled(rollout_flag, team=team) is False
        raise RuntimeError("abort")

    assert flags.is_enabled(rollout_flag, team=team) is True


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_is_seen_once_the_transaction_commits(rollout_flag, django_assert_num_queries):
    """The commit expires this process's copy, so the warm copy gives way to the committed state."""
    team = TeamFactory()
    flag = FlagFactory(name=rollout_flag, everyone=None, superusers=False)
    assert flags.is_enabled(rollout_flag, team=team) is False
    with transaction.atomic():
        flag.teams.add(team)
    assert flags.is_enabled(rollout_flag, team=team) is True
    with django_assert_num_queries(0):
        assert flags.is_enabled(rollout_flag, team=team) is True


def test_team_entries_compare_against_the_state_before_the_whole_change(on_for_a, team_b):
    """One attributed change that turns everyone on and lists a team records that team as off → on."""
    with attributed_to("user:operator", reason="one form save"):
        on_for_a.everyone = True
        on_for_a.save()
        on_for_a.teams.add(team_b)
    entry = FlagAudit.objects.get(flag_name=on_for_a.name, team_id=team_b.pk)
    assert (entry.before, entry.after, entry.actor) == ("off", "on", "user:operator")
