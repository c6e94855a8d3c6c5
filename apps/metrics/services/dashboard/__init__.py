"""Dashboard services: the names views and tasks import.

Import dashboard functions from here, never from legacy.py or optimized.py
directly. Every card is a legacy/optimized pair registered here (shadow.pair), so
callers keep the same import and keyword-only signature while a per-team flag
picks the side. get_key_metrics (one period; the cards use
get_key_metrics_with_previous) has no twin and is the legacy implementation
itself.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.utils import timezone

from apps.metrics.cache import CachedComputation
from apps.metrics.services import exploration
from apps.metrics.services.dashboard import legacy, optimized
from apps.metrics.services.dashboard.legacy import get_key_metrics
from apps.teams.models import Team
from shadow import EvidenceNeeds, Pair, pair

P = ParamSpec("P")
R = TypeVar("R")


def _recent_ranges(team) -> list[dict]:
    """The last 7, 30 and 90 days ending today in the team's time zone: what `rollout verify` compares."""
    today = timezone.localdate(timezone=team.tzinfo)
    return [{"start_date": today - dt.timedelta(days=days - 1), "end_date": today} for days in (7, 30, 90)]


# Called on every dashboard view: the settings' comparisons and window, over at least three distinct ranges
# (verify's three examples are enough).
DASHBOARD_EVIDENCE = EvidenceNeeds(min_argument_sets=3)


def _card(
    name: str,
    *,
    legacy: Callable[P, R],
    optimized: CachedComputation[P, R],
    description: str,
    explore: Callable[[Team], list[dict[str, Any]]] = exploration.date_ranges,
) -> Pair[P, R]:
    """A dashboard card's pair: verified on the last 7, 30 and 90 days and on ranges generated from the team's
    data, ready after comparisons over three distinct ranges, its optimized side cached per team and range
    (comparisons run the computation; a sampled call checks the served entry on its own, "stale cache")."""
    return pair(
        name, legacy=legacy, optimized=optimized, description=description, explore=explore, examples=_recent_ranges,
        evidence=DASHBOARD_EVIDENCE, cache=optimized.pair_cache(),
    )


# Doubts kept identical on both sides (see the optimized docstrings): unanswered
# surveys count in ai_pct's denominator, as in key metrics; inactive members keep
# their rows.
get_team_breakdown = _card(
    "metrics.team_breakdown",
    legacy=legacy.get_team_breakdown,
    optimized=optimized.get_team_breakdown,
    description="Per-author PR count, cycle time and AI %: one grouped query instead of 1 + 5 per author.",
)
# Doubts kept identical on both sides: names tie-break in codepoint order, so
# "Zoe" sorts before "ana"; a negative limit slices like a Python list.
get_copilot_by_member = _card(
    "metrics.copilot_by_member",
    legacy=legacy.get_copilot_by_member,
    optimized=optimized.get_copilot_by_member,
    explore=exploration.ranges_and_limits,
    description="Top members by accepted Copilot suggestions: one grouped query with LIMIT instead of 1 + 2 per member.",
)
# Doubts kept identical on both sides (see legacy.get_key_metrics): unanswered
# surveys count in the AI % denominator.
get_key_metrics_with_previous = _card(
    "metrics.key_metrics",
    legacy=legacy.get_key_metrics_with_previous,
    optimized=optimized.get_key_metrics_with_previous,
    description=(
        "Key metrics of a range and of the period before it: two FILTERed queries over both periods "
        "instead of five per period."
    ),
)

# Doubts kept identical on both sides: reviews count whatever the PR's state (open and closed PRs too); a
# reviewer row of another team raises TeamMember.DoesNotExist on both sides; a count equal to a threshold
# is "normal"; names tie-break in codepoint order.
get_reviewer_workload = _card(
    "metrics.reviewer_workload",
    legacy=legacy.get_reviewer_workload,
    optimized=optimized.get_reviewer_workload,
    description="Reviews per member with workload: one grouped query instead of 1 + 2 per reviewer.",
)
# Doubts kept identical on both sides: the first and last weeks only count the days inside the range, so
# their means are over part of a week; weeks are bounded at team-local midnights as zoneinfo resolves them.
get_cycle_time_trend = _card(
    "metrics.cycle_time_trend",
    legacy=legacy.get_cycle_time_trend,
    optimized=optimized.get_cycle_time_trend,
    description="Weekly mean cycle time: one query bucketing the range into weeks instead of one per week.",
)
# Doubts kept identical on both sides: a merged PR without a review time counts in neither value nor prs;
# clipped first and last weeks, as in the cycle time trend.
get_review_time_trend = _card(
    "metrics.review_time_trend",
    legacy=legacy.get_review_time_trend,
    optimized=optimized.get_review_time_trend,
    description="Weekly mean review time: one query bucketing the range into weeks instead of one per week.",
)
# Doubts kept identical on both sides: unanswered surveys count in ai_pct's denominator, as in key metrics;
# a week's PRs are bucketed by merge time, not by when the survey was answered.
get_ai_adoption_trend = _card(
    "metrics.ai_adoption_trend",
    legacy=legacy.get_ai_adoption_trend,
    optimized=optimized.get_ai_adoption_trend,
    description="Weekly survey AI %: one query bucketing the range into weeks instead of two per week.",
)
# Doubts kept identical on both sides: PRs without an author are sized and counted; a negative size
# (inconsistent data) is XS.
get_pr_size_distribution = _card(
    "metrics.pr_size_distribution",
    legacy=legacy.get_pr_size_distribution,
    optimized=optimized.get_pr_size_distribution,
    description="PR sizes: one FILTERed count per bucket in SQL instead of loading every merged PR.",
)
# Doubts kept identical on both sides: usage dates are compared as GitHub's calendar days, with no shift for
# the team's zone; usage rows are not checked against the member's team.
get_copilot_metrics = _card(
    "metrics.copilot_metrics",
    legacy=legacy.get_copilot_metrics,
    optimized=optimized.get_copilot_metrics,
    description="Team Copilot totals and active members: one aggregate instead of two queries.",
)
# Doubts kept identical on both sides: a negative limit raises Django's "Negative indexing is not supported."
# (legacy slices a queryset); limit 0 gives no rows; an author of another team still lends their name.
get_recent_prs = _card(
    "metrics.recent_prs",
    legacy=legacy.get_recent_prs,
    optimized=optimized.get_recent_prs,
    explore=exploration.ranges_and_limits,
    description="Latest merged PRs: one query with the author joined instead of one more per row with an author.",
)

__all__ = [
    "get_ai_adoption_trend",
    "get_copilot_by_member",
    "get_copilot_metrics",
    "get_cycle_time_trend",
    "get_key_metrics",
    "get_key_metrics_with_previous",
    "get_pr_size_distribution",
    "get_recent_prs",
    "get_review_time_trend",
    "get_reviewer_workload",
    "get_team_breakdown",
]
