"""Each side's Measurement: exactly the queries the side itself ran, and non-negative times.

The runner's own statements (the savepoint around the served optimized side,
the isolated side's savepoint and SET LOCAL statement_timeout) are not the
side's, so they are not counted: a side's query count equals what
django_assert_num_queries counts when the side is called directly.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction

import shadow
from shadow.errors import ShadowTimeout
from shadow.execution import run_isolated, run_served
from shadow.measure import Measurement, measured
from shadow.models import DailyEvidence
from tests.shadow.sides import Side, make_queries

PAIR = "test.pair"


def assert_times_are_sane(measurement: Measurement) -> None:
    assert measurement.wall_ms >= 0
    assert measurement.cpu_ms >= 0
    assert measurement.query_ms >= 0
    assert measurement.query_ms <= measurement.wall_ms


@pytest.mark.django_db
def test_measured_counts_the_queries_of_its_block(team):
    """Three queries in the block: queries == 3."""
    with measured() as meter:
        make_queries(team, 3)

    assert meter.measurement.queries == 3
    assert_times_are_sane(meter.measurement)


def test_measured_block_without_queries():
    """No SQL: zero queries and zero query time."""
    with measured() as meter:
        sum(range(1000))

    assert (meter.measurement.queries, meter.measurement.query_ms) == (0, 0)
    assert meter.measurement.wall_ms >= 0


@pytest.mark.django_db
def test_a_spent_deadline_refuses_the_next_query_and_still_measures(team):
    """Past the deadline the next query raises ShadowTimeout before reaching the server; the measurement is kept."""
    with pytest.raises(ShadowTimeout), measured(deadline=time.perf_counter() - 1) as meter:
        make_queries(team, 1)

    assert meter.measurement.queries == 0


def test_as_dict_rounds_times_to_microseconds():
    """Stored and reported measurements carry three decimals of milliseconds."""
    measurement = Measurement(wall_ms=1.23456, cpu_ms=0.5, queries=3, query_ms=0.0004)

    assert measurement.as_dict() == {"wall_ms": 1.235, "cpu_ms": 0.5, "queries": 3, "query_ms": 0.0}


@pytest.mark.parametrize("side", ["legacy", "optimized"])
@pytest.mark.django_db
def test_the_served_side_counts_only_its_own_queries(make_pair, team, side):
    """Served for real, a 3-query side measures 3 queries (the optimized side's savepoint is not its own)."""
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, queries=3), optimized=Side("optimized", log, queries=3))

    run = run_served(pair, side, {"team": team})

    assert run.measurement.queries == 3
    assert_times_are_sane(run.measurement)


@pytest.mark.parametrize("side", ["legacy", "optimized"])
@pytest.mark.django_db
def test_the_isolated_side_counts_only_its_own_queries(make_pair, team, side):
    """Isolated, a 3-query side measures 3 queries (its savepoint and statement_timeout are the runner's)."""
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, queries=3), optimized=Side("optimized", log, queries=3))

    run = run_isolated(pair, side, {"team": team})

    assert run.measurement.queries == 3
    assert_times_are_sane(run.measurement)


@pytest.mark.django_db
def test_a_sides_own_transaction_statements_count_as_for_django_assert_num_queries(
    make_pair, team, django_assert_num_queries
):
    """A side with its own atomic block: savepoint + 1 query + release = 3, measured and served alike."""

    def atomic_side(*, team):
        with transaction.atomic():
            make_queries(team, 1)
        return "done"

    pair = make_pair(legacy=atomic_side, optimized=atomic_side)
    with django_assert_num_queries(3):
        atomic_side(team=team)

    served = run_served(pair, "optimized", {"team": team})
    isolated = run_isolated(pair, "legacy", {"team": team})

    assert (served.measurement.queries, isolated.measurement.queries) == (3, 3)


@pytest.mark.django_db
def test_a_sampled_call_measures_each_side_exactly(make_pair, sample_everything, team):
    """Legacy makes 4 queries and optimized 1: the evidence row holds exactly those counts."""
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, queries=4), optimized=Side("optimized", log, queries=1))

    pair(team=team)

    row = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (row.legacy_queries_total, row.optimized_queries_total, row.measured_runs) == (4, 1, 1)
    assert row.legacy_ms_total >= 0
    assert row.optimized_ms_total >= 0


@pytest.mark.django_db
def test_a_sampled_call_with_optimized_serving_measures_each_side_exactly(make_pair, sample_everything, team):
    """Optimized serves (inside the runner's savepoint) with 2 queries, legacy shadows with 5."""
    log: list[str] = []
    pair = make_pair(legacy=Side("legacy", log, queries=5), optimized=Side("optimized", log, queries=2))

    with shadow.testing.force_side(PAIR, "optimized"):
        pair(team=team)

    row = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (row.legacy_queries_total, row.optimized_queries_total) == (5, 2)


@pytest.mark.django_db
def test_compare_measures_both_sides(make_pair, team):
    """shadow.compare reports each side's exact query count and sane times."""
    log: list[str] = []
    make_pair(legacy=Side("legacy", log, queries=2), optimized=Side("optimized", log, queries=0))

    comparison = shadow.compare(PAIR, team=team)

    assert (comparison.legacy.measurement.queries, comparison.optimized.measurement.queries) == (2, 0)
    assert_times_are_sane(comparison.legacy.measurement)
    assert_times_are_sane(comparison.optimized.measurement)
