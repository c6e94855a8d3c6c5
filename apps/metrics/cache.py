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

A page that only reads (the dashboard) reads each team's stamp once for all
its cards (`one_stamp_per_request`), so a warm page costs one query for the
cards, whatever their number.

`cached_computation(name)` turns an optimized card computation into its
cached side: same keyword-only signature, cached per team, arguments, time
zone and side; the undecorated function stays reachable as `.compute` (what
shadow comparisons run) and `.peek` reads what would be served.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, ParamSpec, TypeVar

from django.core.cache import caches
from django.db import connection

from apps.metrics.models import TeamDataVersion
from shadow import CachedEntry, PairCache

METRICS_TTL_SECONDS = 300

_STAMP_SQL = (
    f"SELECT (SELECT version FROM {TeamDataVersion._meta.db_table} WHERE team_id = %(team)s), "
    "(SELECT max(mark) FROM metrics_teamdatapending WHERE team_id = %(team)s)"
)


P = ParamSpec("P")
R = TypeVar("R")

# Team id -> stamp, while a read-only request holds it (one_stamp_per_request); None outside one.
_request_stamps: ContextVar[dict[int, str] | None] = ContextVar("metrics_request_stamps", default=None)


def metrics_cache():
    return caches["default"]


def team_data_stamp(team_id: int) -> str:
    """The team's data version as this connection sees it ("v0" before its first write), one query.

    While this transaction has written the team's rows (not yet committed),
    the mark of its latest such statement follows: "v41.57".
    """
    held = _request_stamps.get()
    if held is not None and team_id in held:
        return held[team_id]
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL, {"team": team_id})
        version, mark = cursor.fetchone()
    stamp = f"v{version or 0}"
    stamp = stamp if mark is None else f"{stamp}.{mark}"
    if held is not None:
        held[team_id] = stamp
    return stamp


@contextmanager
def one_stamp_per_request() -> Iterator[None]:
    """Within the block, each team's stamp is read once and reused: for requests that write no team rows.

    A page's cards then agree on one data version, and a warm page reads it once. A write inside
    the block would not move the held stamp, so the block must not write the rows it reads.
    """
    token = _request_stamps.set({})
    try:
        yield
    finally:
        _request_stamps.reset(token)


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


def _argument_key(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else repr(value)


class CachedComputation(Generic[P, R]):
    """An optimized computation served from the metrics cache; called like the computation itself.

    The key holds the name, the side ("optimized": an entry is only ever read back by the
    implementation that wrote it), the team's time zone (it moves day bounds) and every keyword
    argument but the team; cached_for_team scopes it by team and data stamp. Query shape: the
    stamp (none when the request already holds it), plus the computation's own on a miss.
    """

    def __init__(self, name: str, compute: Callable[P, R]) -> None:
        self.name = name
        self.compute = compute
        # Arguments go into the key in the signature's order, defaults filled in: "…:2026-11-16:2026-11-22:10".
        self.signature = inspect.signature(compute)
        functools.update_wrapper(self, compute)

    def key(self, team: Any, kwargs: dict[str, Any]) -> str:
        bound = self.signature.bind(team=team, **kwargs)
        bound.apply_defaults()
        arguments = ":".join(_argument_key(value) for name, value in bound.arguments.items() if name != "team")
        return f"{self.name}:optimized:{team.timezone}:{arguments}"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        team = kwargs.pop("team")
        value: R = cached_for_team(team.pk, self.key(team, kwargs), lambda: self.compute(team=team, **kwargs))
        return value

    def peek(self, **kwargs: Any) -> CachedEntry | None:
        """What a call would serve now from the cache, with its age; computes nothing (None: no entry)."""
        team = kwargs.pop("team")
        found = peek_for_team(team.pk, self.key(team, kwargs))
        return None if found is None else CachedEntry(value=found[0], age_seconds=found[1])

    def pair_cache(self) -> PairCache:
        """For the pair: comparisons run the computation, the stale-cache check reads what would be served."""
        return PairCache(compute=self.compute, peek=self.peek)


def cached_computation(name: str) -> Callable[[Callable[P, R]], CachedComputation[P, R]]:
    """Decorator: the optimized computation below, cached per team and arguments under `name`."""

    def decorate(compute: Callable[P, R]) -> CachedComputation[P, R]:
        return CachedComputation(name, compute)

    return decorate
