"""Dashboard services: the names views and tasks import.

Import dashboard functions from here, never from legacy.py or optimized.py
directly. Every card is a legacy/optimized pair registered here (shadow.pair), so
callers keep the same import and keyword-only signature while a per-team flag
picks the side. get_key_metrics (one period; the cards use
get_key_metrics_with_previous) has no twin and is the legacy implementation
itself.
"""

import datetime as dt

from django.utils import timezone

from apps.metrics.services import exploration
from apps.metrics.services.dashboard import legacy, optimized
from apps.metrics.services.dashboard.legacy import get_key_metrics
from shadow import CachedEntry, EvidenceNeeds, PairCache, pair


def _recent_ranges(team) -> list[dict]:
    """The last 7, 30 and 90 days ending today in the team's time zone: what `rollout verify` compares."""
    today = timezone.localdate(timezone=team.tzinfo)
    return [{"start_date": today - dt.timedelta(days=days - 1), "end_date": today} for days in (7, 30, 90)]


# Called on every dashboard view: the settings' comparisons and window, over at least three distinct ranges
# (verify's three examples are enough).
DASHBOARD_EVIDENCE = EvidenceNeeds(min_argument_sets=3)


# Doubts kept identical on both sides (see the optimized docstrings): unanswered
# surveys count in ai_pct's denominator, as in key metrics; inactive members keep
# their rows.
get_team_breakdown = pair(
    "metrics.team_breakdown",
    legacy=legacy.get_team_breakdown,
    optimized=optimized.get_team_breakdown,
    explore=exploration.date_ranges,
    description="Per-author PR count, cycle time and AI %: one grouped query instead of 1 + 5 per author.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: names tie-break in codepoint order, so
# "Zoe" sorts before "ana"; a negative limit slices like a Python list.
get_copilot_by_member = pair(
    "metrics.copilot_by_member",
    legacy=legacy.get_copilot_by_member,
    optimized=optimized.get_copilot_by_member,
    explore=exploration.ranges_and_limits,
    description="Top members by accepted Copilot suggestions: one grouped query with LIMIT instead of 1 + 2 per member.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides (see legacy.get_key_metrics): unanswered
# surveys count in the AI % denominator. The optimized side is cached per team
# and range for five minutes, keyed by the team's data version, which
# PostgreSQL moves with every committed write to the team's rows (apps.metrics.cache).
# Comparisons run the computation itself (key_metrics_both_periods), never the cache; a sampled call
# checks the entry the cache would serve against it on its own ("stale cache").
def _cached_key_metrics(*, team, start_date: dt.date, end_date: dt.date) -> CachedEntry | None:
    found = optimized.peek_key_metrics_with_previous(team=team, start_date=start_date, end_date=end_date)
    return None if found is None else CachedEntry(value=found[0], age_seconds=found[1])


get_key_metrics_with_previous = pair(
    "metrics.key_metrics",
    legacy=legacy.get_key_metrics_with_previous,
    optimized=optimized.get_key_metrics_with_previous,
    explore=exploration.date_ranges,
    description=(
        "Key metrics of a range and of the period before it: two FILTERed queries over both periods, "
        "cached per team and range, instead of five per period."
    ),
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
    cache=PairCache(compute=optimized.key_metrics_both_periods, peek=_cached_key_metrics),
)

# Doubts kept identical on both sides: reviews count whatever the PR's state (open and closed PRs too); a
# reviewer row of another team raises TeamMember.DoesNotExist on both sides; a count equal to a threshold
# is "normal"; names tie-break in codepoint order.
get_reviewer_workload = pair(
    "metrics.reviewer_workload",
    legacy=legacy.get_reviewer_workload,
    optimized=optimized.get_reviewer_workload,
    explore=exploration.date_ranges,
    description="Reviews per member with workload: one grouped query instead of 1 + 2 per reviewer.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: the first and last weeks only count the days inside the range, so
# their means are over part of a week; weeks are bounded at team-local midnights as zoneinfo resolves them.
get_cycle_time_trend = pair(
    "metrics.cycle_time_trend",
    legacy=legacy.get_cycle_time_trend,
    optimized=optimized.get_cycle_time_trend,
    explore=exploration.date_ranges,
    description="Weekly mean cycle time: one query bucketing the range into weeks instead of one per week.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: a merged PR without a review time counts in neither value nor prs;
# clipped first and last weeks, as in the cycle time trend.
get_review_time_trend = pair(
    "metrics.review_time_trend",
    legacy=legacy.get_review_time_trend,
    optimized=optimized.get_review_time_trend,
    explore=exploration.date_ranges,
    description="Weekly mean review time: one query bucketing the range into weeks instead of one per week.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: unanswered surveys count in ai_pct's denominator, as in key metrics;
# a week's PRs are bucketed by merge time, not by when the survey was answered.
get_ai_adoption_trend = pair(
    "metrics.ai_adoption_trend",
    legacy=legacy.get_ai_adoption_trend,
    optimized=optimized.get_ai_adoption_trend,
    explore=exploration.date_ranges,
    description="Weekly survey AI %: one query bucketing the range into weeks instead of two per week.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: PRs without an author are sized and counted; a negative size
# (inconsistent data) is XS.
get_pr_size_distribution = pair(
    "metrics.pr_size_distribution",
    legacy=legacy.get_pr_size_distribution,
    optimized=optimized.get_pr_size_distribution,
    explore=exploration.date_ranges,
    description="PR sizes: one FILTERed count per bucket in SQL instead of loading every merged PR.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: usage dates are compared as GitHub's calendar days, with no shift for
# the team's zone; usage rows are not checked against the member's team.
get_copilot_metrics = pair(
    "metrics.copilot_metrics",
    legacy=legacy.get_copilot_metrics,
    optimized=optimized.get_copilot_metrics,
    explore=exploration.date_ranges,
    description="Team Copilot totals and active members: one aggregate instead of two queries.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
)
# Doubts kept identical on both sides: a negative limit raises Django's "Negative indexing is not supported."
# (legacy slices a queryset); limit 0 gives no rows; an author of another team still lends their name.
get_recent_prs = pair(
    "metrics.recent_prs",
    legacy=legacy.get_recent_prs,
    optimized=optimized.get_recent_prs,
    explore=exploration.ranges_and_limits,
    description="Latest merged PRs: one query with the author joined instead of one more per row with an author.",
    examples=_recent_ranges,
    evidence=DASHBOARD_EVIDENCE,
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
