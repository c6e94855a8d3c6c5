"""The performance plan's indexes: present by name, built concurrently, and the migration reverses cleanly."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

PLAN_INDEXES = {
    "member_team_active_idx": "metrics_teammember",
    "member_team_gh_username_idx": "metrics_teammember",
    "pr_team_author_merged_idx": "metrics_pullrequest",
    "pr_team_created_idx": "metrics_pullrequest",
    "pr_team_state_merged_idx": "metrics_pullrequest",
}


def plan_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, tablename FROM pg_indexes WHERE indexname = ANY(%s)", [list(PLAN_INDEXES)]
        )
        return dict(cursor.fetchall())


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def latest_metrics_migration() -> tuple[str, str]:
    executor = MigrationExecutor(connection)
    (leaf,) = executor.loader.graph.leaf_nodes("metrics")
    return leaf


@pytest.mark.django_db(transaction=True)
def test_the_five_indexes_exist_and_the_migration_reverses_and_reapplies():
    """Forward: all five on their tables. Backward to 0001: none. Forward again (to the latest): all five."""
    assert plan_indexes() == PLAN_INDEXES
    latest = latest_metrics_migration()
    try:
        migrate(("metrics", "0001_initial"))
        assert plan_indexes() == {}
    finally:
        migrate(latest)
    assert plan_indexes() == PLAN_INDEXES


def test_the_migration_is_non_atomic_and_concurrent():
    """CREATE INDEX CONCURRENTLY needs a migration outside a transaction."""
    import importlib

    from django.contrib.postgres.operations import AddIndexConcurrently

    migration = importlib.import_module("apps.metrics.migrations.0002_performance_plan_indexes").Migration
    assert migration.atomic is False
    assert [type(operation) for operation in migration.operations] == [AddIndexConcurrently] * 5
