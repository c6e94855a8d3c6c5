"""The benchmark harness end to end at the TINY size: every section present, the floors honest.

Timings are only checked for presence, never for value.
"""

from __future__ import annotations

import io
import json

import pytest

from bench.runner import run
from bench.sizes import TINY
from shadow import pairs as pair_registry

# pytest-django creates the test database only when a collected test asks for one: without this mark,
# `pytest tests/bench` alone would run the bench against the project's own database.
pytestmark = pytest.mark.django_db

SIDE_KEYS = {"p50_ms", "p95_ms", "runs", "queries"}
DEFERRED_MODES = ["deferred_100pct", "deferred_100pct_worker_running"]
FLOOR_PAIRS = [
    "metrics.team_breakdown",
    "metrics.key_metrics",
    "metrics.weekly_aggregation",
    "metrics.reviewer_workload",
    "metrics.cycle_time_trend",
    "metrics.review_time_trend",
    "metrics.ai_adoption_trend",
    "metrics.pr_size_distribution",
    "metrics.copilot_metrics",
    "metrics.recent_prs",
]


@pytest.fixture(scope="module")
def results(django_db_setup, django_db_blocker, tmp_path_factory):
    """One TINY run into a temporary directory, in a transaction rolled back afterwards; its JSON, read back."""
    from django.db import transaction

    output_dir = tmp_path_factory.mktemp("bench")
    with django_db_blocker.unblock(), transaction.atomic():
        _results, path = run(TINY, output_dir=output_dir, out=io.StringIO())
        transaction.set_rollback(True)
    return {"path": path, "json": json.loads(path.read_text())}


def test_writes_the_json_named_by_date_and_size(results):
    """The file is <date>-TINY.json and carries the machine's CPU, core count, PostgreSQL version and commit."""
    machine = results["json"]["machine"]
    assert results["path"].name == f"{results['json']['date']}-TINY.json"
    assert set(machine) >= {"cpu_model", "cpu_count", "postgresql", "git_commit"}


def test_dataset_has_the_tiny_counts(results):
    """The measured team has 8 members, 200 PRs, 600 reviews and 8 x 14 Copilot days, with 2 noise teams."""
    dataset = results["json"]["dataset"]
    assert dataset["rows"]["TeamMember"] == 8
    assert dataset["rows"]["PullRequest"] == 200
    assert dataset["rows"]["PRReview"] == 600
    assert dataset["rows"]["AIUsageDaily"] == 112
    assert dataset["noise_teams"] == 2


def test_every_registered_pair_has_both_sides_measured(results):
    """One row per registered pair, each side with p50, p95, runs and queries, and both sides answering alike."""
    pairs = results["json"]["pairs"]
    assert sorted(pairs) == pair_registry.names()
    assert all(set(row["legacy"]) >= SIDE_KEYS and set(row["optimized"]) >= SIDE_KEYS for row in pairs.values())
    assert all(row["legacy"]["runs"] >= 1 and row["optimized"]["runs"] >= 1 for row in pairs.values())
    assert [name for name, row in pairs.items() if not row["sides_equal"]] == []


def test_write_pairs_have_constant_optimized_query_counts(results):
    """Copilot sync costs the same queries for a 14-day and a 1-day report; weekly aggregation its documented 6."""
    pairs = results["json"]["pairs"]
    sync = pairs["integrations.copilot_sync"]
    assert sync["optimized"]["queries"] == 4
    assert sync["optimized_queries_one_day_report"] == 4
    assert pairs["metrics.weekly_aggregation"]["optimized"]["queries"] == 6


def test_floor_rows_equal_their_pairs(results):
    """Every floor is measured and returns exactly the pair's numbers."""
    floors = results["json"]["floors"]
    assert [row["pair"] for row in floors] == FLOOR_PAIRS
    assert [row["floor_equal"] for row in floors] == [True] * len(FLOOR_PAIRS)
    assert all(set(row["floor"]) >= SIDE_KEYS and row["floor"]["queries"] == 1 for row in floors)


def test_export_reads_every_pr_on_both_sides(results):
    """Both sides export all 200 PRs through the page, with throughput and memory growth reported."""
    export = results["json"]["export"]
    assert export["optimized"]["rows"] == 200
    assert export["legacy"]["rows"] == 200
    assert {"rows_per_s", "rss_growth_mb", "queries"} <= set(export["optimized"])


def test_dashboard_and_shadow_cost_sections(results):
    """The page with the flag off, on and on with a warm cache; shadowing off, 1 %, inline and deferred at 100 %.

    Deferred twice: the worker paused while the requests are timed, and the worker running meanwhile.
    """
    dashboard, shadow = results["json"]["dashboard"], results["json"]["shadow_cost"]
    assert {"flag_off", "flag_on", "flag_on_warm_cache"} <= set(dashboard)
    assert {"off", "sampled_1pct", "inline_100pct", *DEFERRED_MODES} <= set(shadow)
    assert all(set(shadow[mode]) >= SIDE_KEYS | {"added_p50_ms", "added_p50_pct"} for mode in DEFERRED_MODES)
    assert [shadow[mode]["worker_paused_while_timed"] for mode in DEFERRED_MODES] == [True, False]


def test_deferred_is_skipped_with_a_reason_inside_a_rolled_back_transaction(results):
    """Here the bench runs in a transaction that is rolled back: no worker is started, both deferred rows say why."""
    shadow = results["json"]["shadow_cost"]
    for mode in DEFERRED_MODES:
        assert "rolled back" in shadow[mode]["skipped"]
        assert shadow[mode]["p50_ms"] is None and shadow[mode]["added_p50_ms"] is None
    assert "not measured" in shadow["conditions"]


def test_targets_are_reported(results):
    """Every target of the issues is evaluated (met or not), none asserted here: the ten of the performance plan,
    the page's query count and each newly paired card's speed-up."""
    targets = [row["target"] for row in results["json"]["targets"]]

    assert len(targets) == 18
    assert "dashboard queries, flag on (cold)" in targets
    assert "reviewer workload speed-up" in targets
