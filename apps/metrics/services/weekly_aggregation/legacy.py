"""Weekly per-member aggregation, reference implementation.

This is the shape the optimized twin is measured against: for every active
member it runs five aggregate queries and one update_or_create, so the query
count grows linearly with the team size.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Q, Sum

from apps.metrics.models import Commit, PRSurvey, PRSurveyReview, PullRequest, TeamMember, WeeklyMetrics
from apps.metrics.services.common import percent, round2, week_range
from apps.teams.models import Team


def aggregate_team_weekly_metrics(*, team: Team, week_start: dt.date) -> list[dict[str, Any]]:
    """Compute and store one WeeklyMetrics row per active member for one week.

    The week is [Monday 00:00, next Monday 00:00) in the team's time zone: a PR
    merged exactly at the local Monday midnight belongs to that week, one merged
    at the following Monday midnight belongs to the next. Team-local bounds keep
    the weekly numbers consistent with the dashboard's day ranges.

    Per active member (ordered by id):
    - PR aggregates over the member's PRs in state merged with merged_at in the
      week: prs_merged, avg_cycle_time_hours and avg_review_time_hours (two
      decimals; None when no PR has a value), lines_added / lines_removed (sums
      of additions / deletions; 0 when none), revert_count, hotfix_count.
    - commits_count: the member's commits with committed_at in the week.
    - surveys_completed / ai_assisted_prs: surveys on those merged PRs that the
      author answered / answered with "AI-assisted". Unanswered surveys count
      for neither.
    - avg_quality_rating: average of the non-null quality ratings reviewers
      gave on those surveys (two decimals; None when none).
    - guess_accuracy: of the survey reviews this member (as reviewer) answered
      within the week with a scored guess, the percentage guessed correctly
      (two decimals); None without guesses. Guesses are placed in the week the
      reviewer responded, not the week the PR merged, because that is when the
      member did the work.

    Inactive members get no row, and a row stored for them earlier is left as
    is (their history stays visible). Rerunning for the same week updates the
    rows in place. Everything runs in one transaction.

    Returns one dict per active member, ordered by member id, with member_id,
    week_start and every metric field of WeeklyMetrics.

    Raises ValueError when week_start is not a Monday.
    """
    if week_start.weekday() != 0:
        raise ValueError(
            f"week_start must be a Monday, got {week_start.isoformat()} ({week_start.strftime('%A')})"
        )
    start, end = week_range(team, week_start)
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        for member in TeamMember.objects.filter(team=team, is_active=True).order_by("id"):
            metrics = _member_week_metrics(team=team, member=member, start=start, end=end)
            WeeklyMetrics.objects.update_or_create(team=team, member=member, week_start=week_start, defaults=metrics)
            results.append({"member_id": member.id, "week_start": week_start, **metrics})
    return results


def _member_week_metrics(*, team: Team, member: TeamMember, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    # Half-open bounds rather than __range: the next Monday 00:00 belongs to the next week.
    merged_prs = PullRequest.objects.filter(
        team=team,
        author=member,
        state=PullRequest.State.MERGED,
        merged_at__gte=start,
        merged_at__lt=end,
    )
    pr_stats = merged_prs.aggregate(
        prs_merged=Count("id"),
        avg_cycle_time_hours=Avg("cycle_time_hours"),
        avg_review_time_hours=Avg("review_time_hours"),
        lines_added=Sum("additions"),
        lines_removed=Sum("deletions"),
        revert_count=Count("id", filter=Q(is_revert=True)),
        hotfix_count=Count("id", filter=Q(is_hotfix=True)),
    )

    commits_count = Commit.objects.filter(
        team=team, author=member, committed_at__gte=start, committed_at__lt=end
    ).count()

    surveys = PRSurvey.objects.filter(team=team, pull_request__in=merged_prs)
    survey_stats = surveys.aggregate(
        surveys_completed=Count("id", filter=Q(author_ai_assisted__isnull=False)),
        ai_assisted_prs=Count("id", filter=Q(author_ai_assisted=True)),
    )

    quality = PRSurveyReview.objects.filter(
        team=team, survey__in=surveys, quality_rating__isnull=False
    ).aggregate(avg=Avg("quality_rating"))["avg"]

    guesses = PRSurveyReview.objects.filter(
        team=team,
        reviewer=member,
        responded_at__gte=start,
        responded_at__lt=end,
        guess_correct__isnull=False,
    ).aggregate(total=Count("id"), correct=Count("id", filter=Q(guess_correct=True)))

    return {
        "prs_merged": pr_stats["prs_merged"],
        "avg_cycle_time_hours": round2(pr_stats["avg_cycle_time_hours"]),
        "avg_review_time_hours": round2(pr_stats["avg_review_time_hours"]),
        "commits_count": commits_count,
        "lines_added": pr_stats["lines_added"] or 0,
        "lines_removed": pr_stats["lines_removed"] or 0,
        "revert_count": pr_stats["revert_count"],
        "hotfix_count": pr_stats["hotfix_count"],
        "ai_assisted_prs": survey_stats["ai_assisted_prs"],
        "avg_quality_rating": round2(quality),
        "surveys_completed": survey_stats["surveys_completed"],
        "guess_accuracy": percent(guesses["correct"], guesses["total"]) if guesses["total"] else None,
    }
