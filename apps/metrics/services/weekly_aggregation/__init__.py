"""Weekly per-member metrics: the entry point the rest of the app imports from.

For now the names below are the legacy implementation. The rollout later wraps
`aggregate_team_weekly_metrics` as the legacy/optimized pair
`metrics.weekly_aggregation`, without callers changing their imports.
"""

from __future__ import annotations

import datetime as dt

from apps.metrics.services.common import monday_of
from apps.metrics.services.weekly_aggregation.legacy import aggregate_team_weekly_metrics

__all__ = ["aggregate_team_weekly_metrics", "previous_iso_week_start"]


def previous_iso_week_start(today: dt.date) -> dt.date:
    """Monday of the ISO week before the one containing `today` (a Monday maps to the Monday a week earlier)."""
    return monday_of(today) - dt.timedelta(days=7)
