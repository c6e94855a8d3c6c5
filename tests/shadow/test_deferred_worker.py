"""Deferred mode end to end: the request queues on Redis, a real Celery worker process compares and stores evidence."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.conf import settings

from shadow.models import DailyEvidence, ShadowRecord
from tests.factories import TeamFactory, TeamMemberFactory
from tests.shadow import pairs
from tests.support.processes import celery_worker

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: CI's second run sets it"),
]


@pytest.fixture
def shadow_worker_queue():
    """A real `celery worker` on a queue of its own, with the shared test pairs registered (TFORMANCE_TEST_PAIRS=1)."""
    queue = f"shadow-test-{uuid.uuid4().hex[:8]}"
    with celery_worker(queue, "--include", "tests.shadow.pairs", TFORMANCE_TEST_PAIRS="1"):
        yield queue


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_compares_a_deferred_call_and_stores_the_evidence(
    make_pair, sample_everything, settings, shadow_worker_queue, queue_for_real
):
    """The sampled call returns legacy's answer at once; the worker later records one matching, measured run."""
    settings.SHADOW_DEFERRED_QUEUE = shadow_worker_queue
    team = TeamFactory()
    TeamMemberFactory(team=team)
    TeamMemberFactory(team=team)
    TeamMemberFactory(team=TeamFactory())
    pair = make_pair(
        name=pairs.NAME, legacy=pairs.legacy_member_count, optimized=pairs.optimized_member_count, deferred=True
    )

    assert pair(team=team, joined_before=dt.date(2100, 1, 1)) == {"members": 2}

    deadline = time.monotonic() + 60
    while not DailyEvidence.objects.filter(pair_name=pairs.NAME, team=team).exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    row = DailyEvidence.objects.get(pair_name=pairs.NAME, team=team)
    assert (row.runs, row.matches, row.mismatches, row.errors, row.timeouts) == (1, 1, 0, 0, 0)
    assert (row.measured_runs, row.legacy_queries_total, row.optimized_queries_total) == (1, 1, 1)
    assert ShadowRecord.objects.count() == 0
