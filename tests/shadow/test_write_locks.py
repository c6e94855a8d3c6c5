"""Write pairs and row locks: a blocked shadow side is inconclusive, a served side that loses a deadlock runs again.

The test pair renames team members (a write), so its sides take row locks on
member rows; a second PostgreSQL session holds or takes the same
locks to block or deadlock them.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest
from django.db import connection

from apps.metrics.models import TeamMember
from shadow.models import DailyEvidence, FailureTally, ShadowRecord
from shadow.outcome import SideRun
from shadow.testing import force_side
from tests.factories import TeamMemberFactory
from tests.support.processes import database_url

PAIR = "test.pair"


def rename(*, team, member_ids, name):
    """Rename the members in the order given: one UPDATE (one row lock) each."""
    for member_id in member_ids:
        TeamMember.objects.filter(team=team, pk=member_id).update(display_name=name)
    return len(member_ids)


def names(*, team, member_ids, name):
    return list(TeamMember.objects.filter(pk__in=member_ids).order_by("pk").values_list("display_name", flat=True))


def test_a_blocked_side_makes_the_run_inconclusive():
    from shadow.judging import judge
    from shadow.pairs import Pair

    pair = Pair(name=PAIR, legacy=rename, optimized=rename, writes=True, snapshot=names)
    blocked = SideRun("legacy", error=RuntimeError("lock"), blocked=True)

    comparison = judge(pair, {}, "optimized", blocked, SideRun("optimized", value=1))

    assert comparison.outcome == "inconclusive"
    assert blocked.failed and blocked.error_text == "blocked by a row lock (RuntimeError)"


@pytest.mark.django_db(transaction=True)
def test_a_shadow_side_waiting_for_a_row_lock_gives_up_and_the_run_is_inconclusive(
    make_pair, sample_everything, settings, team
):
    """Another session holds the row: the shadow gives up after SHADOW_LOCK_TIMEOUT_MS, the served side waits and writes.

    Inconclusive is counted and recorded, but it is neither a mismatch nor an
    error: nothing reaches Sentry's rollback tally, nothing is rolled back.
    """
    settings.SHADOW_LOCK_TIMEOUT_MS = 50
    pair = make_pair(legacy=rename, optimized=rename, writes=True, snapshot=names)
    member = TeamMemberFactory(team=team, display_name="before")

    with psycopg.connect(database_url()) as other:
        other.execute("SELECT 1 FROM metrics_teammember WHERE id = %s FOR UPDATE", [member.pk])
        release = threading.Timer(0.5, other.rollback)
        release.start()
        with force_side(PAIR, "optimized"):
            started = time.perf_counter()
            answer = pair(team=team, member_ids=[member.pk], name="after")
            waited = time.perf_counter() - started
        release.join()

    assert answer == 1
    member.refresh_from_db()
    assert member.display_name == "after"
    # The served side waited for the lock; the shadow (run first) gave up on it at once.
    assert waited >= 0.4
    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (evidence.runs, evidence.inconclusive, evidence.matches, evidence.mismatches, evidence.errors) == (
        1, 1, 0, 0, 0,
    )
    assert evidence.optimized_errors == 0
    record = ShadowRecord.objects.get(pair_name=PAIR)
    assert record.outcome == "inconclusive"
    assert "legacy: blocked by a row lock (OperationalError)" in record.error
    assert not FailureTally.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_served_write_side_that_loses_a_deadlock_runs_once_more(make_pair, settings, team, caplog):
    """The caller never sees the deadlock: the side is rolled back and run again, and its writes land."""
    settings.SHADOW_DEFAULT_RATE = 0
    first, second = TeamMemberFactory(team=team), TeamMemberFactory(team=team)
    attempts: list[int] = []
    holding_second, first_locked = threading.Event(), threading.Event()
    other_error: list[BaseException] = []

    def rename_first_then_second(*, team, member_ids, name):
        attempts.append(1)
        TeamMember.objects.filter(pk=first.pk).update(display_name=name)
        first_locked.set()
        TeamMember.objects.filter(pk=second.pk).update(display_name=name)
        return 2

    def other_session():
        # Holds the second row, then (after the served side waits for it) asks for the first: a deadlock.
        try:
            with psycopg.connect(database_url()) as other:
                other.execute("SET deadlock_timeout = '10s'")
                other.execute("UPDATE metrics_teammember SET display_name = 'other' WHERE id = %s", [second.pk])
                holding_second.set()
                first_locked.wait(5)
                # Ask for the first row while the served side is already waiting for the second one.
                time.sleep(0.1)
                other.execute("UPDATE metrics_teammember SET display_name = 'other' WHERE id = %s", [first.pk])
                other.commit()
        except BaseException as error:  # reported by the assertion below
            other_error.append(error)

    pair = make_pair(
        legacy=rename_first_then_second, optimized=rename_first_then_second, writes=True, snapshot=names
    )
    thread = threading.Thread(target=other_session)
    thread.start()
    holding_second.wait(5)
    with connection.cursor() as cursor:
        # The served side checks for the deadlock first (after 500 ms of waiting, when the cycle is
        # already closed), so it is the one PostgreSQL aborts.
        cursor.execute("SET deadlock_timeout = '500ms'")
    try:
        with caplog.at_level(logging.WARNING, logger="shadow.execution"):
            answer = pair(team=team, member_ids=[first.pk, second.pk], name="served")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET deadlock_timeout")
        thread.join(10)

    assert other_error == []
    assert answer == 2
    assert len(attempts) == 2
    assert "lost a deadlock; running it once more" in caplog.text
    # The served side ran last, after the other session committed: its names stay.
    assert list(
        TeamMember.objects.filter(pk__in=[first.pk, second.pk]).values_list("display_name", flat=True)
    ) == ["served", "served"]
