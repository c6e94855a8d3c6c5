"""The flags app's settings, read here with their defaults (validated by flags.checks)."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Unknown flag names raise (tests) or log and answer "off" (production).
    "FLAGS_RAISE_ON_UNKNOWN": False,
    # Mixed into the team-percentage hash; changing it reshuffles which teams are in.
    "FLAGS_PERCENT_SALT": "tformance-rollout",
    # Directories scanned by the start-up check for flag names used in code.
    "FLAGS_SCAN_DIRS": ["apps", "flags", "shadow", "tformance", "templates"],
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def raise_on_unknown() -> bool:
    return get("FLAGS_RAISE_ON_UNKNOWN")


def percent_salt() -> str:
    return get("FLAGS_PERCENT_SALT")


def scan_dirs() -> list[str]:
    return list(get("FLAGS_SCAN_DIRS"))
