"""Generation-stamped cache keys: an invalidation that a concurrent reader cannot undo.

Deleting a cached value is not enough: a reader that loaded the old rows
just before the writer committed can store them again just after the
delete, and that stale entry would then live until it expires. Instead,
every invalidation moves a per-name generation forward, and values are
stored under keys that include the generation they were read under. A value
read before the commit lands under an old generation, which no later reader
looks at.
"""

from __future__ import annotations

import time

from django.core.cache import BaseCache, caches

GENERATION_KEY = "generation:{}"


def _generation_key(name: str) -> str:
    return GENERATION_KEY.format(name)


def default_cache() -> BaseCache:
    # The rollout cache (flags and sampling rates); metrics pass their own.
    return caches["flags"]


def current(name: str, cache: BaseCache | None = None) -> int:
    cache = cache or default_cache()
    key = _generation_key(name)
    value = cache.get(key)
    if value is None:
        # A lost counter restarts from the clock, so it is ahead of every generation handed out before.
        cache.add(key, time.time_ns(), timeout=None)
        value = cache.get(key)
    return value


def bump(name: str, cache: BaseCache | None = None) -> None:
    cache = cache or default_cache()
    key = _generation_key(name)
    try:
        cache.incr(key)
    except ValueError:
        cache.add(key, time.time_ns(), timeout=None)


def stamped(key: str, name: str, cache: BaseCache | None = None) -> str:
    """`key` for the current generation of `name`."""
    return f"{key}:g{current(name, cache)}"


# --- changes inside a transaction ---------------------------------------------------
#
# A change made inside a transaction is not visible to other connections until
# commit, and may be rolled back. Moving the generation at once would let this
# connection cache its uncommitted rows for everyone, so instead the name is
# marked uncommitted on this connection: reads here bypass the cache (and store
# nothing), and the generation moves when the transaction commits.


def _uncommitted() -> set[str]:
    from django.db import connection

    names = getattr(connection, "_flags_uncommitted", None)
    if names is None:
        names = connection._flags_uncommitted = set()
    elif names and not connection.in_atomic_block:
        # Out of every transaction: each change was either committed (and bumped) or rolled back.
        names.clear()
    return names


def forget_uncommitted() -> None:
    """Drop this connection's marks (tests: each test's transaction is rolled back, never committed)."""
    from django.db import connection

    connection._flags_uncommitted = set()


def changed(name: str, cache: BaseCache | None = None) -> None:
    """Record that the rows behind `name` changed: now if committed, else when the transaction commits."""
    from django.db import connection, transaction

    if not connection.in_atomic_block:
        bump(name, cache)
        return
    _uncommitted().add(name)

    def committed() -> None:
        _uncommitted().discard(name)
        bump(name, cache)

    transaction.on_commit(committed)


def cache_usable(name: str) -> bool:
    """False while this connection holds an uncommitted change of `name` (or one it rolled back)."""
    return name not in _uncommitted()
