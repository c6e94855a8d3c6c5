"""The time budget protects the caller: a read pair's shadow side runs in its own thread, waited for at most its budget.

These tests run outside a transaction (transaction=True), as a request or a
task calls a pair: only then can the shadow's own connection see what the
caller sees. The caller's wait is measured with the clock, because the
guarantee is about time: a shadow side that sleeps past its budget must not
hold the call up by more than budget + 100 ms.
"""

from __future__ import annotations

import logging
import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone, translation

from shadow.models import DailyEvidence
from shadow.reporters import SKIPPED
from shadow.testing import force_side
from shadow.threads import THREADS
from tests.support.processes import database_url

PAIR = "test.pair"
BUDGET_MS = 200
SLEEP_S = 3

pytestmark = pytest.mark.django_db(transaction=True)


def quick(*, team, n):
    return n * 2


def sleeps_in_python(*, team, n):
    time.sleep(SLEEP_S)
    return n * 2


def sleeps_in_sql(*, team, n):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [SLEEP_S])
    return n * 2


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    yield
    # A left-behind shadow thread holds a connection to the test database until it finishes.
    assert THREADS.wait_idle(SLEEP_S + 5)


def timed_call(pair, **kwargs):
    started = time.perf_counter()
    answer = pair(**kwargs)
    return answer, time.perf_counter() - started


def test_a_shadow_side_sleeping_in_python_past_its_budget_costs_the_caller_at_most_the_budget(
    make_pair, sample_everything, team
):
    pair = make_pair(legacy=quick, optimized=sleeps_in_python, time_budget_ms=BUDGET_MS)

    answer, elapsed = timed_call(pair, team=team, n=21)

    assert answer == 42
    assert elapsed < (BUDGET_MS + 100) / 1000
    evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (evidence.runs, evidence.timeouts, evidence.matches) == (1, 1, 0)


def test_a_shadow_statement_past_the_budget_is_cancelled_and_the_caller_goes_on(make_pair, sample_everything, team):
    """The caller leaves at the budget; the shadow's pg_sleep is cancelled on the server, not left running."""
    pair = make_pair(legacy=quick, optimized=sleeps_in_sql, time_budget_ms=BUDGET_MS)

    answer, elapsed = timed_call(pair, team=team, n=21)

    assert answer == 42
    assert elapsed < (BUDGET_MS + 100) / 1000
    assert THREADS.wait_idle(2)
    with psycopg.connect(database_url()) as other:
        running = other.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%' AND state = 'active'"
        ).fetchone()[0]
    assert running == 0
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).timeouts == 1


def test_the_shadow_runs_beside_the_serving_side(make_pair, sample_everything, team):
    """Both sides take 300 ms: the call takes about 300 ms, not 600 (the budget is 1 s)."""

    def slow(*, team, n):
        time.sleep(0.3)
        return n

    pair = make_pair(legacy=slow, optimized=slow, time_budget_ms=1000)

    answer, elapsed = timed_call(pair, team=team, n=1)

    assert answer == 1
    assert elapsed < 0.55
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).matches == 1


def test_a_wrong_optimized_side_serving_still_hands_the_caller_legacys_answer(make_pair, sample_everything, team):
    pair = make_pair(legacy=quick, optimized=lambda *, team, n: n * 3)

    with force_side(PAIR, "optimized"):
        assert pair(team=team, n=21) == 42


def test_the_shadow_thread_sees_the_callers_time_zone_and_language(make_pair, sample_everything, team):
    """Django keeps both per thread; the shadow thread is handed the caller's, so both sides see the same and match."""

    def zone(*, team):
        return timezone.get_current_timezone_name(), translation.get_language()

    pair = make_pair(legacy=zone, optimized=zone)

    with timezone.override("Asia/Tokyo"), translation.override("de"):
        assert pair(team=team) == ("Asia/Tokyo", "de")

    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).matches == 1


def test_with_every_shadow_thread_busy_the_call_is_served_without_a_comparison(
    make_pair, sample_everything, settings, team, caplog
):
    """A left-behind shadow keeps its slot; the next sampled call does not wait for it: it is served and counted."""
    settings.SHADOW_THREADS = 1
    pair = make_pair(legacy=quick, optimized=sleeps_in_python, time_budget_ms=BUDGET_MS)
    pair(team=team, n=1)
    skipped_before = SKIPPED.total

    with caplog.at_level(logging.WARNING, logger="shadow.reporters"):
        answer, elapsed = timed_call(pair, team=team, n=21)

    assert answer == 42
    assert elapsed < 0.1
    assert SKIPPED.total == skipped_before + 1
    assert "Shadow comparisons skipped" in caplog.text
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).runs == 1


def test_inside_a_transaction_the_shadow_runs_in_the_callers_thread_and_sees_its_rows(
    make_pair, sample_everything, team
):
    """A thread's connection could not see the caller's uncommitted rows, so the shadow stays in the caller's."""
    from django.db import transaction

    from apps.metrics.models import TeamMember

    def members(*, team):
        return TeamMember.objects.filter(team=team).count()

    pair = make_pair(legacy=members, optimized=members)
    with transaction.atomic():
        TeamMember.objects.create(team=team, display_name="Uncommitted", github_username="u1")
        assert pair(team=team) == 1

    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).matches == 1
