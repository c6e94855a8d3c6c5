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

from waffle.utils import get_cache, keyfmt

GENERATION_KEY = "generation:%s"


def _generation_key(name: str) -> str:
    return keyfmt(GENERATION_KEY, name)


def current(name: str) -> int:
    cache = get_cache()
    key = _generation_key(name)
    value = cache.get(key)
    if value is None:
        # A lost counter restarts from the clock, so it is ahead of every generation handed out before.
        cache.add(key, time.time_ns(), timeout=None)
        value = cache.get(key)
    return value


def bump(name: str) -> None:
    cache = get_cache()
    key = _generation_key(name)
    try:
        cache.incr(key)
    except ValueError:
        cache.add(key, time.time_ns(), timeout=None)


def stamped(key: str, name: str) -> str:
    """`key` for the current generation of `name`."""
    return f"{key}:g{current(name)}"
