"""A sampling rate changed by another process is acted on here within FLAGS_MAX_STALE_SECONDS, like a flag."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from shadow import sampling
from shadow.models import SamplingRate

pytestmark = pytest.mark.django_db(transaction=True)


def test_another_process_rate_change_is_used_once_the_bound_has_passed(team, settings):
    """The rate is kept in this process's memory for at most the bound, then read again from PostgreSQL."""
    settings.FLAGS_MAX_STALE_SECONDS = 0.3
    sampling.set_rate(pair_name="test.pair", rate="0.5", actor="tests")
    assert sampling.rate_for("test.pair", team) == 0.5
    # Another process's committed change: no signal runs here, nothing is cleared in this process.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {SamplingRate._meta.db_table} SET rate = 0.25 WHERE pair_name = 'test.pair'")

    kept = sampling.rate_for("test.pair", team)
    time.sleep(0.4)
    later = sampling.rate_for("test.pair", team)

    assert (kept, later) == (0.5, 0.25)
