"""Evidence never holds the caller up: with its table locked by another session, a sampled call still returns at once."""

from __future__ import annotations

import logging
import time

import psycopg
import pytest
from django.db import connection

from shadow.models import DailyEvidence
from shadow.reporters import DROPPED
from tests.support.processes import database_url


def total(*, team, n):
    return n * 2


@pytest.mark.django_db(transaction=True)
def test_a_sampled_call_returns_at_once_while_the_evidence_table_is_locked(
    make_pair, sample_everything, team, caplog
):
    """The write gives up after SHADOW_EVIDENCE_TIMEOUT_MS (100 ms): counted as dropped, warned once, never waited for."""
    pair = make_pair(legacy=total, optimized=total)
    dropped_before = DROPPED.total

    with psycopg.connect(database_url()) as other:
        other.execute("LOCK TABLE shadow_dailyevidence IN ACCESS EXCLUSIVE MODE")
        with caplog.at_level(logging.WARNING, logger="shadow.reporters"):
            started = time.perf_counter()
            answer = pair(team=team, n=21)
            elapsed = time.perf_counter() - started
        other.rollback()

    assert answer == 42
    assert elapsed < 0.2
    assert DROPPED.total == dropped_before + 1
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "Shadow evidence dropped" in caplog.records[0].getMessage()
    # Once the lock is gone, evidence is written again.
    pair(team=team, n=21)
    assert DailyEvidence.objects.get(team=team).runs == 1


@pytest.mark.django_db
def test_the_callers_own_timeouts_are_put_back_inside_its_transaction(make_pair, sample_everything, team):
    """The evidence write's short timeouts are local to it: the caller's transaction keeps its own settings."""
    pair = make_pair(legacy=total, optimized=total)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '7s'")

    pair(team=team, n=1)

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        assert cursor.fetchone() == ("0", "7s")
    assert DailyEvidence.objects.get(team=team).runs == 1
