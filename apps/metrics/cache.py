"""Cached metrics, scoped by team, invalidated by PostgreSQL whatever path wrote the rows.

Each team has a data version kept by PostgreSQL itself (TeamDataVersion,
migration metrics.0003): statement-level triggers on every table the
dashboard reads (PRs, reviews, commits, surveys, survey reviews, Copilot
usage, team members, weekly metrics) note each team a statement inserts,
updates or deletes rows of, whatever sent it (ORM save, QuerySet.update(),
bulk operations, the admin, raw SQL), and the transaction's commit gives
each such team a new version. A TRUNCATE of one of those tables counts as
a write to every team. The application never writes a version and has
nothing to call after a write.

A cached read first reads the team's *stamp* (one query) and keys its entry
with it, so the next read after a committed change misses:

- The version moves in the writer's commit, so another connection sees the
  new version exactly when it can see the new rows. It is read before the
  rows, so an entry never holds rows older than the version in its key.
- Inside a transaction that has written the team's rows, the stamp also
  carries the *mark* of its latest such statement, which only that
  transaction can see: it reads its own rows, under keys nobody else reads,
  and each of its writes makes its next read miss.
- Versions and marks come from one sequence and are never handed out twice,
  even when a transaction rolls back, so no entry is ever read under a
  stamp that later stands for other rows.

With Redis unreachable, reads miss and writes are dropped (django-redis
ignores the errors): metrics are computed, never failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.db import connection

from apps.metrics.models import TeamDataVersion

METRICS_TTL_SECONDS = 300

_STAMP_SQL = (
    f"SELECT (SELECT version FROM {TeamDataVersion._meta.db_table} WHERE team_id = %(team)s), "
    "(SELECT max(mark) FROM metrics_teamdatapending WHERE team_id = %(team)s)"
)


def metrics_cache():
    return caches["default"]


def team_data_stamp(team_id: int) -> str:
    """The team's data version as this connection sees it ("v0" before its first write), one query.

    While this transaction has written the team's rows (not yet committed),
    the mark of its latest such statement follows: "v41.57".
    """
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL, {"team": team_id})
        version, mark = cursor.fetchone()
    stamp = f"v{version or 0}"
    return stamp if mark is None else f"{stamp}.{mark}"


def cached_for_team(team_id: int, key: str, compute: Callable[[], Any], *, ttl: int = METRICS_TTL_SECONDS) -> Any:
    """`compute()`'s value, cached under `key` for the team's current data stamp (one query, plus compute's on a miss)."""
    stamped = _stamped_key(team_id, key)
    cache = metrics_cache()
    entry = cache.get(stamped)
    if entry is None:
        value = compute()
        # Stored with the time it was computed, so a check can say how old a served entry is (peek_for_team).
        cache.set(stamped, (value, time.time()), ttl)
        return value
    return entry[0]


def peek_for_team(team_id: int, key: str) -> tuple[Any, float] | None:
    """What cached_for_team would serve now, and its age in seconds, without computing (None: nothing cached)."""
    entry = metrics_cache().get(_stamped_key(team_id, key))
    if entry is None:
        return None
    value, stored_at = entry
    return value, max(0.0, time.time() - stored_at)


def _stamped_key(team_id: int, key: str) -> str:
    return f"metrics:team:{team_id}:{key}:{team_data_stamp(team_id)}"
