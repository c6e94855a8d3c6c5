"""Argument sets `rollout verify` generates from a team's own data, beside each pair's fixed examples.

Optimizer bugs hide at the edges the fixed examples miss: a range ending on
the last day that has data (today often has none), a single day, a
Monday–Sunday week, a range across a daylight-saving change in the team's
zone, ranges sharing a start, limits of 1, 0 and −1, each export filter alone
and several together. Each function takes a team and returns keyword-argument
sets (without team), deterministic for the same data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.metrics.models import SIZE_BUCKETS, PRReview, PullRequest
from apps.metrics.services.pr_list import PRFilters
from apps.teams.models import Team

# How far back a daylight-saving change in the team's zone is looked for.
DST_SEARCH_DAYS = 366


def last_day_with_data(team: Team) -> dt.date:
    """The team-local day of the team's latest merged PR (today when it has none)."""
    latest = PullRequest.objects.filter(team=team, merged_at__isnull=False).order_by("-merged_at").first()
    if latest is None or latest.merged_at is None:
        return timezone.localdate(timezone=team.tzinfo)
    return timezone.localtime(latest.merged_at, team.tzinfo).date()


def dst_change_near(team: Team, before: dt.date) -> dt.date | None:
    """The latest day up to `before` on which the team's zone changes its UTC offset (None in a zone without DST)."""
    zone = team.tzinfo
    day = before
    offset = _noon_offset(day, zone)
    for _ in range(DST_SEARCH_DAYS):
        previous = day - dt.timedelta(days=1)
        previous_offset = _noon_offset(previous, zone)
        if previous_offset != offset:
            return day
        day, offset = previous, previous_offset
    return None


def _noon_offset(day: dt.date, zone: Any) -> dt.timedelta | None:
    return dt.datetime.combine(day, dt.time(12), tzinfo=zone).utcoffset()


def date_ranges(team: Team) -> list[dict[str, Any]]:
    """Ranges ending on the last day with data (1, 7, 30 days), that day and the one before alone, the Monday–Sunday
    weeks around it, two ranges sharing a start, and six days across the latest daylight-saving change."""
    last = last_day_with_data(team)
    monday = last - dt.timedelta(days=last.weekday())
    shared_start = last - dt.timedelta(days=13)
    ranges = [
        (last, last),
        (last - dt.timedelta(days=1), last - dt.timedelta(days=1)),
        (last - dt.timedelta(days=6), last),
        (last - dt.timedelta(days=29), last),
        (monday, monday + dt.timedelta(days=6)),
        (monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)),
        (shared_start, shared_start + dt.timedelta(days=6)),
        (shared_start, last),
    ]
    change = dst_change_near(team, last)
    if change is not None:
        ranges.append((change - dt.timedelta(days=3), change + dt.timedelta(days=2)))
    return [{"start_date": start, "end_date": end} for start, end in dict.fromkeys(ranges)]


def ranges_and_limits(team: Team) -> list[dict[str, Any]]:
    """The date ranges with the default limit, and the 30 days ending on the last day with data at limits 1, 0, −1."""
    generated = [{**arguments, "limit": 10} for arguments in date_ranges(team)]
    last = last_day_with_data(team)
    month = {"start_date": last - dt.timedelta(days=29), "end_date": last}
    return generated + [{**month, "limit": limit} for limit in (1, 0, -1)]


def export_filters(team: Team) -> list[dict[str, Any]]:
    """Each export filter alone (values taken from the team's own PRs), then three combinations."""
    prs = PullRequest.objects.filter(team=team)
    repo = prs.order_by("github_repo").values_list("github_repo", flat=True).first() or ""
    author_id = prs.exclude(author=None).order_by("author_id").values_list("author_id", flat=True).first()
    reviewer_id = (
        PRReview.objects.filter(team=team).exclude(reviewer=None).order_by("reviewer_id")
        .values_list("reviewer_id", flat=True).first()
    )
    last = last_day_with_data(team)
    week_ago = last - dt.timedelta(days=6)
    alone: list[PRFilters] = [
        PRFilters(),
        PRFilters(repo=repo),
        PRFilters(is_ai_assisted=True),
        PRFilters(is_ai_assisted=False),
        PRFilters(ai_tool="copilot"),
        PRFilters(has_jira=True),
        PRFilters(has_jira=False),
        PRFilters(date_from=week_ago),
        PRFilters(date_to=week_ago),
        *(PRFilters(size=label) for label, _ in SIZE_BUCKETS),
        *(PRFilters(state=state) for state in PullRequest.State.values),
    ]
    if author_id is not None:
        alone.append(PRFilters(author_id=author_id))
    if reviewer_id is not None:
        alone.append(PRFilters(reviewer_id=reviewer_id))
    combined = [
        PRFilters(state=PullRequest.State.MERGED, date_from=week_ago, date_to=last),
        PRFilters(repo=repo, is_ai_assisted=True, has_jira=False),
        PRFilters(author_id=author_id, state=PullRequest.State.MERGED, size=SIZE_BUCKETS[0][0]),
    ]
    return [{"filters": filters} for filters in dict.fromkeys([*alone, *combined])]
