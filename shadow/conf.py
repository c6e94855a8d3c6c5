"""The shadow app's settings, read here with their defaults (validated by shadow.checks)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS = {
    # Share of calls (0–1) that also run the other side, unless a pair or team overrides it at run time.
    "SHADOW_DEFAULT_RATE": 0.01,
    # Time the shadow side may take before it is cut off and recorded as a timeout.
    "SHADOW_TIME_BUDGET_MS": 2000,
    # Each side's time budget in `rollout verify` runs (--budget overrides it): on demand, nobody is waiting.
    "SHADOW_VERIFY_BUDGET_MS": 60000,
    # Readiness gate: comparisons needed in the window, with no mismatch and no error.
    "SHADOW_MIN_COMPARISONS": 50,
    "SHADOW_EVIDENCE_DAYS": 7,
    # Guarded rollback: mismatches plus optimized errors in one day, while optimized serves, that flip the team back.
    "SHADOW_ROLLBACK_THRESHOLD": 5,
    # Tests: a mismatch raises ShadowMismatchError in the caller instead of being only recorded.
    "SHADOW_RAISE_ON_MISMATCH": False,
    # Differences kept per report.
    "SHADOW_MAX_DIFF_LINES": 50,
    # Celery queue for deferred comparisons; None sends them to the default queue.
    "SHADOW_DEFERRED_QUEUE": None,
    # The contained (shadow) side gives up waiting for a lock after this long: the run is then inconclusive.
    "SHADOW_LOCK_TIMEOUT_MS": 50,
    # Threads per process running read pairs' shadow sides (shadow.threads); 0 runs them in the caller's thread.
    "SHADOW_THREADS": 4,
    # Evidence writes give up after this long (lock and statement timeout) rather than hold the caller up.
    "SHADOW_EVIDENCE_TIMEOUT_MS": 100,
    # Evidence writes that gave up are counted and logged at most once per this many seconds per process.
    "SHADOW_DROPPED_LOG_SECONDS": 60,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
