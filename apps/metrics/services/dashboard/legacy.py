"""Dashboard metrics as first shipped: the reference behaviour.

These functions are the "before" of the performance plan. Their results are the
truth the optimized twins (optimized.py) are diffed against, so their behaviour
must not drift. Their query shapes are deliberately kept as they were, including
the per-member and per-week loops (N+1): the shadow runner reports how many
queries each side issues, and these loops are what the twins improve on.

Shared rules:
- "Merged PRs in range": state "merged" and merged_at within
  day_range(team, start_date, end_date), i.e. from start_date 00:00 to
  end_date + 1 day 00:00 (exclusive) in the team's time zone, so both dates are
  inclusive whole local days.
- Averages and percentages are Decimals rounded to two places, half up (round2,
  percent). An average over no values is None; a percentage over nothing is 0.00.
- AI % is survey based: surveys on the merged PRs whose author answered
  "AI-assisted" ÷ all surveys on those PRs × 100.
- Every query is filtered by team.
- Bots (TeamMember.is_bot) are not people: the cards that list or count
  members leave them out (team breakdown, reviewer workload, Copilot per
  member, Copilot active members), in the query they already run. Their PRs
  still count in the team's figures (key metrics, trends, sizes, recent PRs).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, DecimalField, QuerySet, Sum

from apps.metrics.models import (
    SIZE_BUCKETS,
    AIUsageDaily,
    PRReview,
    PRSurvey,
    PRSurveyReview,
    PullRequest,
    TeamMember,
    acceptance_rate,
)
from apps.metrics.services.common import day_range, percent, previous_period, round2, week_range, weeks_between
from apps.teams.models import Team


def _merged_prs(team: Team, start: dt.datetime, end: dt.datetime) -> QuerySet[PullRequest]:
    """Team's PRs merged in [start, end)."""
    return PullRequest.objects.filter(
        team=team, state=PullRequest.State.MERGED, merged_at__gte=start, merged_at__lt=end
    )


def _merged_prs_in_range(team: Team, start_date: dt.date, end_date: dt.date) -> QuerySet[PullRequest]:
    start, end = day_range(team, start_date, end_date)
    return _merged_prs(team, start, end)


def _weekly_windows(
    team: Team, start_date: dt.date, end_date: dt.date
) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """(Monday, window start, window end) per week touching the range.

    Each window is the week clipped to the range, so the first and last weeks
    only count the days of the range they contain.
    """
    range_start, range_end = day_range(team, start_date, end_date)
    windows = []
    for monday in weeks_between(start_date, end_date):
        week_start, week_end = week_range(team, monday)
        windows.append((monday, max(week_start, range_start), min(week_end, range_end)))
    return windows


def get_key_metrics(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    """Headline numbers over the team's PRs merged from start_date to end_date (both inclusive, team-local days).

    Returns:
    - prs_merged: int, including PRs whose author is unknown (author null).
    - avg_cycle_time: Decimal | None, mean cycle_time_hours of those PRs that
      have one; None when none has.
    - avg_quality_rating: Decimal | None, mean quality_rating (1-3) over the
      reviewer answers of the surveys on those PRs, unrated answers ignored;
      None when there is no rating.
    - ai_assisted_pct: Decimal, surveys on those PRs answered "AI-assisted" ÷
      all surveys on those PRs × 100; 0.00 when there is no survey.

    Unanswered surveys (author_ai_assisted None) count in the denominator of
    ai_assisted_pct, as the contract reads "all surveys on those PRs". This is
    a known doubt: it pulls the percentage down while answers are pending.
    Whatever is decided must be changed here and in the optimized twin together.

    Query shape: five separate queries, independent of team size.
    """
    merged = _merged_prs_in_range(team, start_date, end_date)
    prs_merged = merged.count()
    avg_cycle = merged.aggregate(avg=Avg("cycle_time_hours"))["avg"]
    # Averaging the integer ratings as numeric keeps the half-up rounding exact (a float would not).
    avg_quality = PRSurveyReview.objects.filter(
        team=team, survey__pull_request__in=merged, quality_rating__isnull=False
    ).aggregate(avg=Avg("quality_rating", output_field=DecimalField()))["avg"]
    surveys = PRSurvey.objects.filter(team=team, pull_request__in=merged)
    surveys_total = surveys.count()
    surveys_ai = surveys.filter(author_ai_assisted=True).count()
    return {
        "prs_merged": prs_merged,
        "avg_cycle_time": round2(avg_cycle),
        "avg_quality_rating": round2(avg_quality),
        "ai_assisted_pct": percent(surveys_ai, surveys_total),
    }


def get_key_metrics_with_previous(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    """Key metrics of the range and of the period of the same length just before it.

    Returns {"current": get_key_metrics(start_date..end_date), "previous":
    get_key_metrics(previous_period(start_date, end_date))}: both ranges are
    whole team-local days, both ends inclusive, and the previous one ends the
    day before start_date. This is what the dashboard computed with two calls.

    Query shape: two get_key_metrics calls, five queries each (ten).
    """
    previous_start, previous_end = previous_period(start_date, end_date)
    return {
        "current": get_key_metrics(team=team, start_date=start_date, end_date=end_date),
        "previous": get_key_metrics(team=team, start_date=previous_start, end_date=previous_end),
    }


def get_team_breakdown(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """One row per member who authored a PR merged from start_date to end_date (both inclusive, team-local days).

    PRs without an author and PRs by bots are left out (both still count in
    get_key_metrics).
    Rows are ordered by display_name, then member id, as the database orders
    text (codepoint order under the C.UTF-8 collation the project uses).

    Row keys: member_id, member_name (display_name), avatar_url, initials,
    prs_merged (int), avg_cycle_time (Decimal | None: mean of the member's
    non-null cycle times), ai_pct (Decimal: survey-based AI % over the member's
    merged PRs, same rule as get_key_metrics, 0.00 without surveys).

    Query shape (the N+1 the optimized twin removes): one query for the author
    ids, then five per author (member, PR count, average cycle time, survey
    count, AI survey count): 1 + 5 × authors.
    """
    merged = _merged_prs_in_range(team, start_date, end_date)
    author_ids = list(
        merged.filter(author__isnull=False, author__is_bot=False)
        .order_by("author__display_name", "author_id")
        .values_list("author_id", flat=True)
        .distinct()
    )
    rows = []
    for author_id in author_ids:
        member = TeamMember.objects.get(team=team, pk=author_id)
        member_prs = merged.filter(author_id=author_id)
        prs_merged = member_prs.count()
        avg_cycle = member_prs.aggregate(avg=Avg("cycle_time_hours"))["avg"]
        surveys = PRSurvey.objects.filter(team=team, pull_request__in=member_prs)
        surveys_total = surveys.count()
        surveys_ai = surveys.filter(author_ai_assisted=True).count()
        rows.append(
            {
                "member_id": member.pk,
                "member_name": member.display_name,
                "avatar_url": member.avatar_url,
                "initials": member.initials,
                "prs_merged": prs_merged,
                "avg_cycle_time": round2(avg_cycle),
                "ai_pct": percent(surveys_ai, surveys_total),
            }
        )
    return rows


def get_cycle_time_trend(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Weekly mean cycle time of PRs merged from start_date to end_date (both inclusive, team-local days).

    One entry per week touching the range, oldest first, even for weeks with no
    PR: {"week_start": Monday, "value": Decimal | None, "prs": int}. A PR falls
    in the team-local week of its merged_at; the first and last weeks only count
    days inside the range. "prs" counts every merged PR of the week; "value"
    averages the non-null cycle times and is None when there is none.

    Query shape: one query per week.
    """
    trend = []
    for monday, start, end in _weekly_windows(team, start_date, end_date):
        agg = _merged_prs(team, start, end).aggregate(avg=Avg("cycle_time_hours"), prs=Count("id"))
        trend.append({"week_start": monday, "value": round2(agg["avg"]), "prs": agg["prs"]})
    return trend


def get_review_time_trend(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Weekly mean review time of PRs merged from start_date to end_date (both inclusive, team-local days).

    Same weeks and shape as get_cycle_time_trend, but over review_time_hours:
    only PRs with a review time count, both in "value" and in "prs", so a week
    whose PRs were never reviewed has value None and prs 0.

    Query shape: one query per week.
    """
    trend = []
    for monday, start, end in _weekly_windows(team, start_date, end_date):
        agg = (
            _merged_prs(team, start, end)
            .filter(review_time_hours__isnull=False)
            .aggregate(avg=Avg("review_time_hours"), prs=Count("id"))
        )
        trend.append({"week_start": monday, "value": round2(agg["avg"]), "prs": agg["prs"]})
    return trend


def get_ai_adoption_trend(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Weekly survey-based AI % of PRs merged from start_date to end_date (both inclusive, team-local days).

    One entry per week touching the range, oldest first:
    {"week_start": Monday, "ai_pct": Decimal, "surveys": int}. "surveys" counts
    all surveys on the week's merged PRs, answered or not; "ai_pct" is the
    share answered "AI-assisted" (same rule and same known doubt as
    get_key_metrics), 0.00 in a week without surveys.

    Query shape: two queries per week (survey count, AI survey count).
    """
    trend = []
    for monday, start, end in _weekly_windows(team, start_date, end_date):
        surveys = PRSurvey.objects.filter(team=team, pull_request__in=_merged_prs(team, start, end))
        surveys_total = surveys.count()
        surveys_ai = surveys.filter(author_ai_assisted=True).count()
        trend.append({"week_start": monday, "ai_pct": percent(surveys_ai, surveys_total), "surveys": surveys_total})
    return trend


def get_pr_size_distribution(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Count of PRs merged from start_date to end_date (both inclusive, team-local days) per size bucket.

    Size is additions + deletions (XS ≤ 10, S ≤ 50, M ≤ 200, L ≤ 500, XL above).
    Always returns the five buckets in that order, with count 0 where empty:
    [{"size": "XS", "count": n}, ...].

    Query shape: one query loading the PRs; counting happens in Python.
    """
    counts = {label: 0 for label, _upper in SIZE_BUCKETS}
    for pr in _merged_prs_in_range(team, start_date, end_date):
        counts[pr.size] += 1
    return [{"size": label, "count": count} for label, count in counts.items()]


def get_recent_prs(*, team: Team, start_date: dt.date, end_date: dt.date, limit: int = 10) -> list[dict]:
    """The latest `limit` PRs merged from start_date to end_date (both inclusive, team-local days).

    Newest merge first, ties broken by higher id first. Row keys: id, title,
    github_repo, github_pr_id, url (the GitHub PR URL), author_name (display
    name, "" when the author is unknown), merged_at (aware datetime),
    cycle_time_hours (Decimal | None), is_ai_assisted.

    Query shape (N+1): one query for the PRs, then one per row that has an
    author, as each author is loaded on access.
    """
    prs = _merged_prs_in_range(team, start_date, end_date).order_by("-merged_at", "-id")[:limit]
    rows = []
    for pr in prs:
        author = pr.author
        rows.append(
            {
                "id": pr.pk,
                "title": pr.title,
                "github_repo": pr.github_repo,
                "github_pr_id": pr.github_pr_id,
                "url": pr.github_url,
                "author_name": author.display_name if author is not None else "",
                "merged_at": pr.merged_at,
                "cycle_time_hours": pr.cycle_time_hours,
                "is_ai_assisted": pr.is_ai_assisted,
            }
        )
    return rows


def _copilot_usage(team: Team, start_date: dt.date, end_date: dt.date) -> QuerySet[AIUsageDaily]:
    # Usage rows are per calendar day as reported by GitHub; dates are compared as they are.
    return AIUsageDaily.objects.filter(
        team=team, source=AIUsageDaily.Source.COPILOT, date__gte=start_date, date__lte=end_date
    )


def get_copilot_metrics(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    """Team Copilot totals over usage days start_date to end_date (both inclusive).

    Returns total_shown and total_accepted (ints, 0 without usage),
    acceptance_rate (accepted ÷ shown × 100, two decimals; None when nothing
    was shown) and active_members (distinct members with at least one day
    showing suggestions; a member whose days all show 0 is not active, nor is
    a bot, whose usage still counts in the totals).

    Query shape: two queries (totals, active members), independent of team size.
    """
    usage = _copilot_usage(team, start_date, end_date)
    totals = usage.aggregate(shown=Sum("suggestions_shown"), accepted=Sum("suggestions_accepted"))
    shown = totals["shown"] or 0
    accepted = totals["accepted"] or 0
    active_members = usage.filter(suggestions_shown__gt=0, member__is_bot=False).values("member_id").distinct().count()
    return {
        "total_shown": shown,
        "total_accepted": accepted,
        "acceptance_rate": acceptance_rate(shown, accepted),
        "active_members": active_members,
    }


def get_copilot_by_member(*, team: Team, start_date: dt.date, end_date: dt.date, limit: int = 10) -> list[dict]:
    """Per-member Copilot usage over days start_date to end_date (both inclusive), top `limit` members.

    One row per member with at least one Copilot usage row in the range, even
    if it shows no suggestions (acceptance_rate None then); bots are left out. Row keys:
    member_id, member_name, suggestions_shown, suggestions_accepted (ints),
    acceptance_rate (Decimal | None). Sorted by suggestions_accepted desc, then
    member_name asc (Python string order), then member_id asc; `limit` is
    applied after sorting.

    Query shape (the N+1 the optimized twin removes): one query for the member
    ids, then two per member (member, sums): 1 + 2 × members, whatever `limit`.
    """
    usage = _copilot_usage(team, start_date, end_date).filter(member__is_bot=False)
    member_ids = list(usage.order_by("member_id").values_list("member_id", flat=True).distinct())
    rows = []
    for member_id in member_ids:
        member = TeamMember.objects.get(team=team, pk=member_id)
        totals = usage.filter(member_id=member_id).aggregate(
            shown=Sum("suggestions_shown"), accepted=Sum("suggestions_accepted")
        )
        shown = totals["shown"] or 0
        accepted = totals["accepted"] or 0
        rows.append(
            {
                "member_id": member.pk,
                "member_name": member.display_name,
                "suggestions_shown": shown,
                "suggestions_accepted": accepted,
                "acceptance_rate": acceptance_rate(shown, accepted),
            }
        )
    rows.sort(key=lambda row: (-row["suggestions_accepted"], row["member_name"], row["member_id"]))
    return rows[:limit]


def get_reviewer_workload(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Reviews given per member, submitted from start_date to end_date (both inclusive, team-local days).

    Counts every PR review (approval, change request or comment) whose reviewer
    is a known member other than a bot, whatever the state of the PR. Row keys: member_id,
    member_name, reviews (int), workload: "high" when reviews > 1.5 × the mean
    reviews per listed reviewer, "low" when < 0.5 × that mean, else "normal"
    (compared exactly, so a count equal to a threshold is "normal"; a single
    reviewer is always "normal"). Sorted by reviews desc, then member_name asc
    (Python string order), then member_id asc.

    Query shape (N+1): one query for the reviewer ids, then two per reviewer
    (member, review count): 1 + 2 × reviewers.
    """
    start, end = day_range(team, start_date, end_date)
    reviews = PRReview.objects.filter(
        team=team, reviewer__isnull=False, reviewer__is_bot=False, submitted_at__gte=start, submitted_at__lt=end
    )
    reviewer_ids = list(reviews.order_by("reviewer_id").values_list("reviewer_id", flat=True).distinct())
    rows = []
    for reviewer_id in reviewer_ids:
        member = TeamMember.objects.get(team=team, pk=reviewer_id)
        count = reviews.filter(reviewer_id=reviewer_id).count()
        rows.append({"member_id": member.pk, "member_name": member.display_name, "reviews": count})
    reviewers = len(rows)
    total = sum(row["reviews"] for row in rows)
    for row in rows:
        row["workload"] = _workload(row["reviews"], total=total, reviewers=reviewers)
    rows.sort(key=lambda row: (-row["reviews"], row["member_name"], row["member_id"]))
    return rows


def _workload(reviews: int, *, total: int, reviewers: int) -> str:
    # reviews vs k × (total / reviewers), cross-multiplied so no rounding can flip a boundary case.
    if 2 * reviews * reviewers > 3 * total:
        return "high"
    if 2 * reviews * reviewers < total:
        return "low"
    return "normal"


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
