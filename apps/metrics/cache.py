"""Cached metrics, scoped by team, invalidated when the team's data changes.

Each team has a data generation (tformance.generations on the default
cache). Writers that change what the dashboard shows (Copilot sync, weekly
aggregation, demo seeding) call `team_data_changed(team_id)`; cached entries
carry the generation in their key, so the next read after a change misses.
With Redis unreachable, reads miss and writes are dropped (django-redis
ignores the errors): metrics are computed, never failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import caches

from tformance import generations

METRICS_TTL_SECONDS = 300


def metrics_cache():
    return caches["default"]


def team_generation_name(team_id: int) -> str:
    return f"team-data:{team_id}"


def team_data_changed(team_id: int) -> None:
    """The team's rows changed: cached metrics of that team are stale from the next read (after commit)."""
    generations.changed(team_generation_name(team_id), metrics_cache())


def cached_for_team(team_id: int, key: str, compute: Callable[[], Any], *, ttl: int = METRICS_TTL_SECONDS) -> Any:
    """`compute()`'s value, cached under `key` for the team's current data generation."""
    name = team_generation_name(team_id)
    cache = metrics_cache()
    if not generations.cache_usable(name):
        return compute()
    stamped = generations.stamped(f"metrics:team:{team_id}:{key}", name, cache)
    value = cache.get(stamped)
    if value is None:
        value = compute()
        cache.set(stamped, value, ttl)
    return value
