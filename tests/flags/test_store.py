"""The per-process flag store: zero queries warm, one version check per bound, never older, PostgreSQL decides.

"Another process" is played by writing the flag's rows with raw SQL on the
test's connection: a committed change this process did not make, so nothing
here expires the copy but the bound.
"""

from __future__ import annotations

import pytest
from django.db import connection

import flags
from flags.store import STORE, FlagStore
from tests.factories import FlagFactory, TeamFactory

pytestmark = pytest.mark.django_db(transaction=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """STORE reads this clock instead of time.monotonic, so the bound can be crossed without waiting."""
    fake = FakeClock()
    monkeypatch.setattr(STORE, "clock", fake)
    return fake


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def flag(rollout_flag, team):
    flag = FlagFactory(name=rollout_flag, everyone=None, superusers=False)
    flag.teams.add(team)
    return flag


def listed_by_another_process(flag, team, *, listed: bool) -> None:
    """A committed change made elsewhere: the team list and a new version, as flags.models would write them."""
    with connection.cursor() as cursor:
        if listed:
            cursor.execute("INSERT INTO flags_flag_teams (flag_id, team_id) VALUES (%s, %s)", [flag.pk, team.pk])
        else:
            cursor.execute("DELETE FROM flags_flag_teams WHERE flag_id = %s AND team_id = %s", [flag.pk, team.pk])
        cursor.execute("UPDATE flags_flag SET version = nextval('flags_flag_version_seq') WHERE id = %s", [flag.pk])


def test_a_warm_evaluation_makes_no_query(flag, team, clock, django_assert_num_queries):
    """Cold: the versions and the changed flag's state; warm, within the bound: nothing."""
    with django_assert_num_queries(2):
        assert flags.is_enabled(flag.name, team=team) is True
    with django_assert_num_queries(0):
        for _ in range(100):
            assert flags.is_enabled(flag.name, team=team) is True


def test_a_tight_loop_makes_at_most_one_version_check_per_bound(flag, team, clock, settings, django_assert_num_queries):
    """10,500 evaluations over 10.5 s of clock with a 2 s bound: 5 checks, one query each (nothing changed)."""
    settings.FLAGS_MAX_STALE_SECONDS = 2
    flags.is_enabled(flag.name, team=team)
    checks_before = STORE.checks

    with django_assert_num_queries(5):
        for _ in range(10_500):
            clock.now += 0.001
            flags.is_enabled(flag.name, team=team)

    assert STORE.checks - checks_before == 5


def test_another_process_change_is_served_once_the_bound_has_passed(flag, team, clock, settings):
    """Until the bound the copy answers (old state); from the bound on, PostgreSQL's committed state."""
    settings.FLAGS_MAX_STALE_SECONDS = 5
    assert flags.is_enabled(flag.name, team=team) is True
    listed_by_another_process(flag, team, listed=False)

    clock.now += 4.9
    assert flags.is_enabled(flag.name, team=team) is True
    clock.now += 0.1
    assert flags.is_enabled(flag.name, team=team) is False


def test_this_process_sees_its_own_committed_change_at_once(flag, team, clock):
    """A change made here expires the copy on commit: no waiting for the bound."""
    assert flags.is_enabled(flag.name, team=team) is True
    flag.teams.remove(team)
    assert flags.is_enabled(flag.name, team=team) is False


def test_a_deleted_flag_is_off_after_the_next_check(flag, team, clock, settings):
    settings.FLAGS_MAX_STALE_SECONDS = 5
    assert flags.is_enabled(flag.name, team=team) is True
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM flags_flag_teams WHERE flag_id = %s", [flag.pk])
        cursor.execute("DELETE FROM flags_flag WHERE id = %s", [flag.pk])
    clock.now += 5
    assert flags.is_enabled(flag.name, team=team) is False


def test_an_older_version_never_replaces_a_newer_one(flag, team):
    """A read that comes back with an older version (a lagging replica, a slow reader) is ignored."""
    store = FlagStore(clock=FakeClock())
    current = store.state(flag.name)
    assert current is not None and current.is_on(team.pk) is True
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM flags_flag_teams WHERE flag_id = %s", [flag.pk])
        # Back in time: a version below the one the store already holds.
        cursor.execute("UPDATE flags_flag SET version = %s WHERE id = %s", [current.version - 1, flag.pk])
    store.expire()

    again = store.state(flag.name)

    assert again == current


def test_every_change_moves_the_version_forward(flag, team):
    """Row saves and team-list changes each take a new, higher version from the sequence."""
    versions = [type(flag).objects.get(pk=flag.pk).version]
    flag.teams.remove(team)
    versions.append(type(flag).objects.get(pk=flag.pk).version)
    flag.everyone = True
    flag.save()
    versions.append(type(flag).objects.get(pk=flag.pk).version)

    assert versions == sorted(set(versions))


@pytest.mark.parametrize("value", [0, -1, "5", True, 7200])
def test_the_bound_must_be_a_sensible_number_of_seconds(settings, value):
    from flags.checks import check_flag_settings

    settings.FLAGS_MAX_STALE_SECONDS = value

    assert [error.id for error in check_flag_settings()] == ["flags.E006"]
