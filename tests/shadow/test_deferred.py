"""Deferred pairs: a sampled request only serves and queues; the queued task compares both sides later.

Celery runs tasks in-process here (eager); tests/shadow/test_deferred_worker.py
runs the same path through Redis and a real worker process.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.db import connection

from shadow.checks import check_shadow_settings
from shadow.models import DailyEvidence, ShadowRecord
from shadow.tasks import compare_deferred_task
from shadow.testing import force_side
from tests.factories import TeamMemberFactory
from tests.shadow import pairs
from tests.shadow.sides import Side

PAIR = "test.pair"


def evidence(team) -> DailyEvidence:
    return DailyEvidence.objects.get(pair_name=PAIR, team=team)


@pytest.mark.django_db
def test_a_sampled_deferred_call_only_serves_and_queues(
    make_pair, sample_everything, team, django_capture_on_commit_callbacks
):
    """In the request only legacy runs; after the commit the queued task runs both sides and stores evidence."""
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value=3), optimized=Side("optimized", log, value=3), deferred=True)

    with django_capture_on_commit_callbacks() as callbacks:
        assert pair(team=team) == 3

    assert log == ["legacy"]
    assert len(callbacks) == 1
    assert DailyEvidence.objects.count() == 0

    callbacks[0]()

    assert sorted(log[1:]) == ["legacy", "optimized"]
    row = evidence(team)
    assert (row.runs, row.matches, row.measured_runs) == (1, 1, 1)


@pytest.mark.django_db
def test_a_deferred_mismatch_is_recorded_with_the_side_that_served(
    make_pair, sample_everything, team, django_capture_on_commit_callbacks
):
    """Optimized served the request; the worker's mismatch counts against it."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value={"prs": 1}), optimized=Side("optimized", log, value={"prs": 2}), deferred=True
    )

    with force_side(PAIR, "optimized"), django_capture_on_commit_callbacks(execute=True):
        assert pair(team=team) == {"prs": 2}

    row = evidence(team)
    assert (row.runs, row.mismatches, row.optimized_served_mismatches) == (1, 1, 1)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.diff) == (
        "mismatch", "optimized", [{
            "path": ".prs", "line": ".prs: 1 != 2", "redacted": ".prs: 1 != 2",
            "legacy": "1", "optimized": "2", "legacy_redacted": "1", "optimized_redacted": "2",
        }]
    )


@pytest.mark.django_db
def test_an_unsampled_deferred_call_queues_nothing(make_pair, settings, team, django_capture_on_commit_callbacks):
    """Rate 0: served, nothing queued, nothing compared."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value=1), optimized=Side("optimized", log, value=1), deferred=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        pair(team=team)

    assert (log, callbacks) == (["legacy"], [])
    assert DailyEvidence.objects.count() == 0


@pytest.mark.django_db
def test_call_arguments_reach_the_queued_comparison_intact(
    make_pair, sample_everything, team, django_capture_on_commit_callbacks
):
    """Dates and Decimals travel as JSON and arrive as the same values and types."""
    seen: list[tuple] = []

    def side(*, team, since, threshold):
        seen.append((since, threshold))
        return 1

    pair = make_pair(legacy=side, optimized=side, deferred=True)

    with django_capture_on_commit_callbacks(execute=True):
        pair(team=team, since=dt.date(2026, 11, 16), threshold=Decimal("12.50"))

    assert seen == [(dt.date(2026, 11, 16), Decimal("12.50"))] * 3
    assert [type(value) for value in seen[-1]] == [dt.date, Decimal]
    assert ShadowRecord.objects.count() == 0
    assert evidence(team).matches == 1


@pytest.mark.django_db
def test_an_argument_that_cannot_travel_is_logged_and_the_caller_served(
    make_pair, sample_everything, team, django_capture_on_commit_callbacks, caplog
):
    """An argument the codec cannot encode: nothing is queued, the call still returns, the problem is logged."""
    log: list[str] = []
    pair = make_pair(
        legacy=Side("legacy", log, value="served"), optimized=Side("optimized", log, value="served"), deferred=True
    )

    with caplog.at_level(logging.ERROR, logger="shadow.dispatch"), django_capture_on_commit_callbacks() as callbacks:
        assert pair(team=team, options=object()) == "served"

    assert callbacks == []
    assert [record.getMessage() for record in caplog.records] == [
        "Deferred comparison of test.pair could not be queued"
    ]


@pytest.mark.parametrize(("queue", "expected"), [(None, {}), ("shadow-compare", {"queue": "shadow-compare"})])
@pytest.mark.django_db
def test_the_deferred_queue_setting_routes_the_task(
    make_pair, sample_everything, settings, team, monkeypatch, django_capture_on_commit_callbacks, queue, expected
):
    """SHADOW_DEFERRED_QUEUE names the queue; unset, the task goes to the default queue."""
    settings.SHADOW_DEFERRED_QUEUE = queue
    sent: list[tuple] = []
    monkeypatch.setattr(compare_deferred_task, "apply_async", lambda args, **options: sent.append((args, options)))
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, value=1), optimized=Side("optimized", log, value=1), deferred=True)

    with django_capture_on_commit_callbacks(execute=True):
        pair(team=team, week=dt.date(2026, 11, 16))

    assert sent == [((PAIR, team.pk, {"week": {"__date__": "2026-11-16"}}, "legacy"), expected)]


@pytest.mark.django_db
def test_a_queued_comparison_of_a_pair_or_team_that_is_gone_is_skipped(make_pair, team):
    """The task returns None instead of failing when the pair was removed or the team deleted."""
    log: list[str] = []
    make_pair(legacy=Side("legacy", log, value=1), optimized=Side("optimized", log, value=1), deferred=True)

    assert compare_deferred_task(PAIR, team.pk + 1000, {}, "legacy") is None
    assert compare_deferred_task("test.removed", team.pk, {}, "legacy") is None
    assert compare_deferred_task(PAIR, team.pk, {}, "legacy") == "match"
    assert sorted(log) == ["legacy", "optimized"]


@pytest.mark.django_db(transaction=True)
def test_a_queued_comparison_reads_one_repeatable_read_snapshot(make_pair):
    """Outside any transaction (as in a worker) both sides run in one REPEATABLE READ transaction."""
    levels: list[str] = []

    def side(*, team):
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            levels.append(cursor.fetchone()[0])
        return 1

    member = TeamMemberFactory()
    make_pair(legacy=side, optimized=side, deferred=True)

    assert compare_deferred_task(PAIR, member.team_id, {}, "legacy") == "match"
    assert levels == ["repeatable read", "repeatable read"]


@pytest.mark.django_db
def test_the_shared_deferred_pair_agrees_on_its_own(
    make_pair, sample_everything, team, django_capture_on_commit_callbacks
):
    """tests/shadow/pairs.py (also loaded by the real worker) is a matching deferred pair."""
    TeamMemberFactory(team=team)
    TeamMemberFactory(team=team)
    pair = make_pair(
        name=pairs.NAME, legacy=pairs.legacy_member_count, optimized=pairs.optimized_member_count, deferred=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert pair(team=team, joined_before=dt.date(2100, 1, 1)) == {"members": 2}

    row = DailyEvidence.objects.get(pair_name=pairs.NAME, team=team)
    assert (row.runs, row.matches, row.legacy_queries_total, row.optimized_queries_total) == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("queue", "errors"), [(None, []), ("shadow-compare", []), ("", ["shadow.E005"]), (7, ["shadow.E005"])]
)
def test_the_deferred_queue_setting_is_checked_at_start_up(settings, queue, errors):
    """SHADOW_DEFERRED_QUEUE is a queue name or None; anything else fails the system check."""
    settings.SHADOW_DEFERRED_QUEUE = queue

    assert [error.id for error in check_shadow_settings()] == errors
