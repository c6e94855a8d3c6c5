"""Weekly per-member aggregation, optimized twin of legacy.py.

The same numbers from a constant number of statements, whatever the team
size: the active members with their commit and guess counts, the merged-PR
aggregates grouped by author, the quality ratings grouped by PR author, and
one bulk upsert. In tests that is 6 queries including the transaction's
savepoint and release.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.metrics.models import Commit, PRSurveyReview, PullRequest, TeamMember, WeeklyMetrics
from apps.metrics.services.common import percent, round2, week_range
from apps.teams.models import Team

METRIC_FIELDS = [
    "prs_merged",
    "avg_cycle_time_hours",
    "avg_review_time_hours",
    "commits_count",
    "lines_added",
    "lines_removed",
    "revert_count",
    "hotfix_count",
    "ai_assisted_prs",
    "avg_quality_rating",
    "surveys_completed",
    "guess_accuracy",
]


def aggregate_team_weekly_metrics(*, team: Team, week_start: dt.date) -> list[dict[str, Any]]:
    """Compute and store one WeeklyMetrics row per active member for one week.

    Same contract as the legacy function: the week is [Monday 00:00, next
    Monday 00:00) in the team's time zone (start inclusive, end exclusive);
    inactive members get no row and their earlier rows are left as they are;
    a member with nothing in the week gets a row of zeros, with averages and
    guess accuracy None; rerunning a week updates its rows in place; it all
    runs in one transaction.

    Returns one dict per active member, ordered by member id, with member_id,
    week_start and every metric field of WeeklyMetrics, typed as legacy types
    them (ints, two-decimal Decimals, None).

    Raises ValueError when week_start is not a Monday, before any query.
    """
    if week_start.weekday() != 0:
        raise ValueError(
            f"week_start must be a Monday, got {week_start.isoformat()} ({week_start.strftime('%A')})"
        )
    start, end = week_range(team, week_start)
    with transaction.atomic():
        members = list(_active_members_with_own_counts(team=team, start=start, end=end))
        if not members:
            return []
        pr_stats = _merged_pr_stats_by_author(team=team, start=start, end=end)
        quality_by_author = _quality_by_pr_author(team=team, start=start, end=end)

        results: list[dict[str, Any]] = []
        for member in members:
            prs = pr_stats.get(member["id"], {})
            metrics = {
                "prs_merged": prs.get("prs_merged", 0),
                "avg_cycle_time_hours": round2(prs.get("avg_cycle_time_hours")),
                "avg_review_time_hours": round2(prs.get("avg_review_time_hours")),
                "commits_count": member["commits_count"],
                "lines_added": prs.get("lines_added") or 0,
                "lines_removed": prs.get("lines_removed") or 0,
                "revert_count": prs.get("revert_count", 0),
                "hotfix_count": prs.get("hotfix_count", 0),
                "ai_assisted_prs": prs.get("ai_assisted_prs", 0),
                "avg_quality_rating": round2(quality_by_author.get(member["id"])),
                "surveys_completed": prs.get("surveys_completed", 0),
                "guess_accuracy": (
                    percent(member["correct_guesses"], member["guesses"]) if member["guesses"] else None
                ),
            }
            results.append({"member_id": member["id"], "week_start": week_start, **metrics})

        WeeklyMetrics.objects.bulk_create(
            [
                WeeklyMetrics(team=team, member_id=row["member_id"], week_start=week_start,
                              **{field: row[field] for field in METRIC_FIELDS})
                for row in results
            ],
            update_conflicts=True,
            unique_fields=["team", "member", "week_start"],
            update_fields=[*METRIC_FIELDS, "updated_at"],
        )
    return results


def _count_per_member(queryset: QuerySet, member_field: str) -> Coalesce:
    """The number of rows of `queryset` belonging to the outer member, 0 when none."""
    counted = (
        queryset.filter(**{member_field: OuterRef("pk")})
        .order_by()
        .values(member_field)
        .annotate(total=Count("id"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _active_members_with_own_counts(*, team: Team, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """Active members by id, each with the counts keyed by the member themself rather than by a PR's author.

    Commits and guesses are rows the member made, so they ride along with the
    member list as per-member subqueries instead of costing a read each.
    """
    # Half-open bounds rather than __range: the next Monday 00:00 belongs to the next week.
    commits = Commit.objects.filter(team=team, committed_at__gte=start, committed_at__lt=end)
    # A guess belongs to the week the reviewer responded, as in legacy.
    guesses = PRSurveyReview.objects.filter(
        team=team, responded_at__gte=start, responded_at__lt=end, guess_correct__isnull=False
    )
    return (
        TeamMember.objects.filter(team=team, is_active=True)
        .order_by("id")
        .annotate(
            commits_count=_count_per_member(commits, "author"),
            guesses=_count_per_member(guesses, "reviewer"),
            correct_guesses=_count_per_member(guesses.filter(guess_correct=True), "reviewer"),
        )
        .values("id", "commits_count", "guesses", "correct_guesses")
    )


def _merged_pr_stats_by_author(*, team: Team, start: dt.datetime, end: dt.datetime) -> dict[int, dict[str, Any]]:
    """{author id: PR and survey aggregates} over the PRs merged in the week.

    The survey is one-to-one with its PR, so joining it repeats no PR row and
    the sums and averages stay those of the PRs alone. Authors outside the
    active members (inactive, null) are computed too and simply never looked up.
    """
    answered_survey = Q(survey__team=team, survey__author_ai_assisted__isnull=False)
    rows = (
        PullRequest.objects.filter(
            team=team, state=PullRequest.State.MERGED, merged_at__gte=start, merged_at__lt=end
        )
        .order_by()
        .values("author")
        .annotate(
            prs_merged=Count("id"),
            avg_cycle_time_hours=Avg("cycle_time_hours"),
            avg_review_time_hours=Avg("review_time_hours"),
            lines_added=Sum("additions"),
            lines_removed=Sum("deletions"),
            revert_count=Count("id", filter=Q(is_revert=True)),
            hotfix_count=Count("id", filter=Q(is_hotfix=True)),
            surveys_completed=Count("survey", filter=answered_survey),
            ai_assisted_prs=Count("survey", filter=Q(survey__team=team, survey__author_ai_assisted=True)),
        )
    )
    return {row.pop("author"): row for row in rows}


def _quality_by_pr_author(*, team: Team, start: dt.datetime, end: dt.datetime) -> dict[int, Any]:
    """{PR author id: average quality rating} of the rated reviews on surveys of PRs merged in the week.

    The same Avg expression as legacy on the integer column, so the value
    reaches round2 as the same float (see the pair's notes in __init__.py).
    """
    return dict(
        PRSurveyReview.objects.filter(
            team=team,
            quality_rating__isnull=False,
            survey__team=team,
            survey__pull_request__team=team,
            survey__pull_request__state=PullRequest.State.MERGED,
            survey__pull_request__merged_at__gte=start,
            survey__pull_request__merged_at__lt=end,
        )
        .order_by()
        .values("survey__pull_request__author")
        .annotate(avg=Avg("quality_rating"))
        .values_list("survey__pull_request__author", "avg")
    )
