"""A real Celery worker process, consuming from the real Redis broker, runs a task end to end."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings

from apps.metrics.models import WeeklyMetrics
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.processes import celery_worker
from tformance.celery import app

UTC = dt.UTC

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: CI's second run sets it"),
]


@pytest.fixture
def worker_queue():
    """A real `celery worker` process on a queue of its own."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with celery_worker(queue):
        yield queue


@pytest.mark.django_db(transaction=True)
def test_worker_aggregates_a_teams_week_from_a_queued_task(worker_queue, queue_for_real):
    """The task is queued on Redis, picked up by a separate worker process, and its rows land in PostgreSQL."""
    team = TeamFactory()
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 18, 12, tzinfo=UTC))
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 19, 12, tzinfo=UTC))

    app.send_task(
        "apps.metrics.tasks.aggregate_team_weekly_metrics_task",
        args=[team.id, "2026-11-16"],
        queue=worker_queue,
    )

    deadline = time.monotonic() + 60
    while not WeeklyMetrics.objects.filter(team=team).exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    row = WeeklyMetrics.objects.get(team=team, member=member, week_start=dt.date(2026, 11, 16))
    assert row.prs_merged == 2
    assert row.avg_cycle_time_hours == Decimal("24.00")
