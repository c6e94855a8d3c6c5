"""Weekly per-member metrics: the entry point the rest of the app imports from.

`aggregate_team_weekly_metrics` is the legacy/optimized write pair
`metrics.weekly_aggregation` (shadow.pair): callers keep this import
and keyword-only signature while a per-team flag picks the side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.metrics.models import WeeklyMetrics
from apps.metrics.services.common import monday_of
from apps.metrics.services.weekly_aggregation import legacy, optimized
from apps.teams.models import Team
from shadow import EvidenceNeeds, pair

__all__ = ["aggregate_team_weekly_metrics", "previous_iso_week_start"]


def previous_iso_week_start(today: dt.date) -> dt.date:
    """Monday of the ISO week before the one containing `today` (a Monday maps to the Monday a week earlier)."""
    return monday_of(today) - dt.timedelta(days=7)


# --- the metrics.weekly_aggregation pair ---------------------------------------

# Every stored column except the ones that legitimately differ between two runs (id, timestamps) or never vary.
_SNAPSHOT_FIELDS = [
    field.attname
    for field in WeeklyMetrics._meta.concrete_fields
    if field.name not in {"id", "team", "created_at", "updated_at"}
]


def stored_weekly_metrics(*, team: Team, week_start: dt.date) -> list[dict[str, Any]]:
    """The pair's snapshot: the team's WeeklyMetrics rows of that week, by member id, as plain dicts.

    Rows of inactive members are included: both sides must leave them alone.
    """
    return list(
        WeeklyMetrics.objects.filter(team=team, week_start=week_start).order_by("member_id").values(*_SNAPSHOT_FIELDS)
    )


def _last_completed_weeks(team: Team, count: int = 4) -> list[dict[str, Any]]:
    """The `count` weeks before the team's current local week, newest first: what `rollout verify` compares."""
    latest = previous_iso_week_start(timezone.localdate(timezone=team.tzinfo))
    return [{"week_start": latest - dt.timedelta(weeks=weeks)} for weeks in range(count)]


def _backfill_weeks(team: Team) -> list[dict[str, Any]]:
    """The last 12 completed weeks: `rollout verify --backfill`, each week counting once as evidence."""
    return _last_completed_weeks(team, BACKFILL_WEEKS)


# One run per team and week: readiness asks for 8 distinct weeks compared in the last 13, reached on the
# schedule or at once by backfill.
BACKFILL_WEEKS = 12
WEEKLY_EVIDENCE = EvidenceNeeds(min_comparisons=8, min_argument_sets=8, window_days=91)


# Doubts kept identical on both sides (see legacy.aggregate_team_weekly_metrics):
# - avg_quality_rating: Django's Avg over the integer rating is a float, and round2
#   quantizes that float's binary value, so an exact .xx5 average can round down
#   (107 over 40 ratings = 2.675 is stored as 2.67, not 2.68).
# - Surveys and quality ratings are credited to the PR's author, not to PRSurvey.author.
# - An inactive member's earlier rows are kept and never refreshed, even when their
#   PRs of that week change later.
aggregate_team_weekly_metrics = pair(
    "metrics.weekly_aggregation",
    legacy=legacy.aggregate_team_weekly_metrics,
    optimized=optimized.aggregate_team_weekly_metrics,
    description=(
        "Weekly per-member metrics: three grouped reads and one bulk upsert, whatever the team size, "
        "instead of 5 reads and an update_or_create per active member."
    ),
    writes=True,
    snapshot=stored_weekly_metrics,
    examples=_last_completed_weeks,
    evidence=WEEKLY_EVIDENCE,
    backfill=_backfill_weeks,
)
