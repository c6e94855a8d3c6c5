"""The flags app's settings, read here with their defaults (validated by flags.checks)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS = {
    # Unknown flag names raise (tests) or log and answer "off" (production).
    "FLAGS_RAISE_ON_UNKNOWN": False,
    # Mixed into the team-percentage hash; changing it reshuffles which teams are in.
    "FLAGS_PERCENT_SALT": "tformance-rollout",
    # The oldest flag or sampling-rate state a process may act on, in seconds: each process re-checks
    # PostgreSQL's versions at most this often, whatever the cache server does.
    "FLAGS_MAX_STALE_SECONDS": 5.0,
    # Directories scanned by the start-up check for flag names used in code.
    "FLAGS_SCAN_DIRS": ["apps", "flags", "shadow", "tformance", "templates"],
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def raise_on_unknown() -> bool:
    value: bool = get("FLAGS_RAISE_ON_UNKNOWN")
    return value


def percent_salt() -> str:
    value: str = get("FLAGS_PERCENT_SALT")
    return value


def scan_dirs() -> list[str]:
    return list(get("FLAGS_SCAN_DIRS"))


def max_stale_seconds() -> float:
    return float(get("FLAGS_MAX_STALE_SECONDS"))
