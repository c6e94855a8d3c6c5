"""Dashboard metrics, optimized twins of legacy.py.

Each function here has the same signature and returns exactly what its legacy
twin returns (same rows, order, types and rounding); only the query shape
differs: grouped queries instead of per-member loops. The shared rules of
legacy.py apply unchanged (merged PRs in range, both dates inclusive team-local
days; Decimals rounded half up to two places; every query filtered by team;
bots left out of the cards that list or count members, by a filter in the
query each already runs).

Each function is self-contained (its own filters, no helpers shared with
other twins), so one twin can change or be removed with its rollout without
touching the others; only the three weekly trends share their week
bucketing (`_by_week`), which a change moves the revision of all three.

Every function here is a card's computation, served through the metrics
cache (`@cached_computation`, apps/metrics/cache.py): per team, arguments,
time zone and side, under the team's data stamp, which PostgreSQL moves with
every committed write to the team's rows. A call costs the stamp read (none
when the request already holds it) plus, on a miss, the query counts given in
each docstring. `function.compute` is the computation without the cache: what
shadow comparisons run, so they never pit a cached value against a fresh one.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, BigIntegerField, Case, Count, DecimalField, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Cast, Collate

from apps.metrics.cache import cached_computation
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


@cached_computation("team_breakdown")
def get_team_breakdown(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """One row per member who authored a PR merged from start_date to end_date (both inclusive, team-local days).

    Same rows, keys, types, order and rounding as legacy.get_team_breakdown:
    PRs without an author or by a bot are left out; rows are ordered by display_name, then
    member id, in the database's text order; prs_merged is an int,
    avg_cycle_time the rounded mean of the member's non-null cycle times (None
    when there is none), ai_pct the survey-based AI % over the member's merged
    PRs (0.00 without surveys; unanswered surveys count in the denominator).

    Query shape: one grouped query, whatever the team size. A PR has at most
    one survey (one-to-one), so the LEFT JOIN to it cannot inflate the PR count
    or the cycle-time average; the survey counts are FILTERed aggregates.

    An author row of another team (inconsistent data) is left out here, where
    legacy raises TeamMember.DoesNotExist; neither can happen with rows written
    by the app.
    """
    start, end = day_range(team, start_date, end_date)
    # The survey's own team is checked too, as legacy filters surveys by team.
    surveys = Q(survey__team=team)
    grouped = (
        PullRequest.objects.filter(
            team=team,
            state=PullRequest.State.MERGED,
            merged_at__gte=start,
            merged_at__lt=end,
            author__isnull=False,
            author__team=team,
            author__is_bot=False,
        )
        .values("author_id", "author__display_name", "author__github_username")
        .annotate(
            prs_merged=Count("id"),
            avg_cycle=Avg("cycle_time_hours"),
            surveys_total=Count("survey", filter=surveys),
            surveys_ai=Count("survey", filter=surveys & Q(survey__author_ai_assisted=True)),
        )
        .order_by("author__display_name", "author_id")
    )
    rows = []
    for group in grouped:
        # An unsaved instance gives avatar_url and initials by the model's own rules, without a query.
        member = TeamMember(
            display_name=group["author__display_name"], github_username=group["author__github_username"]
        )
        rows.append(
            {
                "member_id": group["author_id"],
                "member_name": member.display_name,
                "avatar_url": member.avatar_url,
                "initials": member.initials,
                "prs_merged": group["prs_merged"],
                "avg_cycle_time": round2(group["avg_cycle"]),
                "ai_pct": percent(group["surveys_ai"], group["surveys_total"]),
            }
        )
    return rows


@cached_computation("copilot_by_member")
def get_copilot_by_member(*, team: Team, start_date: dt.date, end_date: dt.date, limit: int = 10) -> list[dict]:
    """Per-member Copilot usage over days start_date to end_date (both inclusive), top `limit` members.

    Same rows, keys, types and order as legacy.get_copilot_by_member: one row
    per member other than a bot with at least one Copilot usage row in the range (acceptance_rate
    None when nothing was shown), sorted by suggestions_accepted desc, then
    member_name in Python string (codepoint) order, then member_id, cut to
    `limit` rows. The name is ordered under the "C" collation, whose byte order
    on UTF-8 is codepoint order, so SQL sorts as Python does whatever the
    database's default collation is. A negative `limit` slices like a Python
    list, as legacy does (all rows but the last ones).

    Query shape: one grouped query with ORDER BY and LIMIT, whatever the team
    size (none at all for limit 0).

    A usage row whose member belongs to another team (inconsistent data) is
    left out here, where legacy raises TeamMember.DoesNotExist.
    """
    grouped = (
        AIUsageDaily.objects.filter(
            team=team,
            source=AIUsageDaily.Source.COPILOT,
            date__gte=start_date,
            date__lte=end_date,
            member__team=team,
            member__is_bot=False,
        )
        .values("member_id", "member__display_name")
        .annotate(shown=Sum("suggestions_shown"), accepted=Sum("suggestions_accepted"))
        .order_by("-accepted", Collate("member__display_name", "C"), "member_id")
    )
    # SQL has no "all but the last n": a negative limit is cut in Python, after loading every group.
    groups = list(grouped[:limit]) if limit is None or limit >= 0 else list(grouped)[:limit]
    return [
        {
            "member_id": group["member_id"],
            "member_name": group["member__display_name"],
            "suggestions_shown": group["shown"],
            "suggestions_accepted": group["accepted"],
            "acceptance_rate": acceptance_rate(group["shown"], group["accepted"]),
        }
        for group in groups
    ]


# --- metrics.key_metrics ----------------------------------------------------------


@cached_computation("key_metrics")
def get_key_metrics_with_previous(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    """Key metrics of the range and of the period of the same length just before it.

    Same result as legacy.get_key_metrics_with_previous: {"current": …,
    "previous": …}, each with prs_merged (int, PRs without author included),
    avg_cycle_time and avg_quality_rating (Decimal | None, two places half up,
    None without values), ai_assisted_pct (Decimal, survey based, unanswered
    surveys in the denominator, 0.00 without surveys). Both ranges are whole
    team-local days, both ends inclusive; the previous one is
    previous_period(start_date, end_date).

    Both periods come from two queries over the union of their ranges.

    One query over the PRs merged in either period: per period, the PR
    count, the mean cycle time and the survey counts, as FILTERed aggregates.
    A PR has at most one survey (one-to-one), so the LEFT JOIN to it cannot
    inflate the PR count or the mean. The quality ratings are many per survey,
    so they get their own query (joining them to the PRs would repeat each PR
    once per rating): one per-period mean over the ratings of the surveys on
    those PRs.

    Filters match legacy.get_key_metrics: PRs and ratings by team, surveys by
    their own team too (legacy filters PRSurvey by team); ratings through any
    survey on the team's merged PRs, unrated answers ignored. Averages are the
    database's numeric AVG, as in legacy, so rounding half up gives the same
    Decimals (the integer ratings are averaged as numeric, never as float).
    """
    previous_start_date, previous_end_date = previous_period(start_date, end_date)
    bounds = {
        "current": day_range(team, start_date, end_date),
        "previous": day_range(team, previous_start_date, previous_end_date),
    }
    # The previous period ends where the current one starts: together they are one contiguous window.
    union_start = min(start for start, _end in bounds.values())
    union_end = max(end for _start, end in bounds.values())

    def merged_in(period: str, prefix: str = "") -> Q:
        start, end = bounds[period]
        return Q(**{f"{prefix}merged_at__gte": start, f"{prefix}merged_at__lt": end})

    surveys = Q(survey__team=team)
    pr_aggregates = {}
    for period in bounds:
        pr_aggregates[f"{period}_prs"] = Count("id", filter=merged_in(period))
        pr_aggregates[f"{period}_cycle"] = Avg("cycle_time_hours", filter=merged_in(period))
        pr_aggregates[f"{period}_surveys"] = Count("survey", filter=merged_in(period) & surveys)
        pr_aggregates[f"{period}_surveys_ai"] = Count(
            "survey", filter=merged_in(period) & surveys & Q(survey__author_ai_assisted=True)
        )
    prs = PullRequest.objects.filter(
        team=team, state=PullRequest.State.MERGED, merged_at__gte=union_start, merged_at__lt=union_end
    ).aggregate(**pr_aggregates)

    ratings = PRSurveyReview.objects.filter(
        team=team,
        quality_rating__isnull=False,
        survey__pull_request__team=team,
        survey__pull_request__state=PullRequest.State.MERGED,
        survey__pull_request__merged_at__gte=union_start,
        survey__pull_request__merged_at__lt=union_end,
    ).aggregate(
        **{
            f"{period}_quality": Avg(
                "quality_rating",
                output_field=DecimalField(),
                filter=merged_in(period, prefix="survey__pull_request__"),
            )
            for period in bounds
        }
    )

    return {
        period: {
            "prs_merged": prs[f"{period}_prs"],
            "avg_cycle_time": round2(prs[f"{period}_cycle"]),
            "avg_quality_rating": round2(ratings[f"{period}_quality"]),
            "ai_assisted_pct": percent(prs[f"{period}_surveys_ai"], prs[f"{period}_surveys"]),
        }
        for period in bounds
    }


# --- metrics.reviewer_workload ----------------------------------------------------


@cached_computation("reviewer_workload")
def get_reviewer_workload(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Reviews given per member, submitted from start_date to end_date (both inclusive, team-local days).

    Same rows, keys, types and order as legacy.get_reviewer_workload: every
    PR review of the team whose reviewer is known and not a bot, whatever the PR's state;
    workload "high" above 1.5 × the mean reviews per listed reviewer, "low"
    below 0.5 × it, "normal" otherwise (a count equal to a threshold is
    "normal"); sorted by reviews desc, then member_name in Python string
    order, then member_id.

    Query shape: one grouped query (reviewer, name, count), whatever the team
    size. The mean needs every row, so the workload and the sort are done in
    Python over those rows, with legacy's exact integer comparison.

    A reviewer of another team (inconsistent data) raises
    TeamMember.DoesNotExist with the message legacy's lookup gives, so both
    sides refuse such data alike.
    """
    start, end = day_range(team, start_date, end_date)
    grouped = (
        PRReview.objects.filter(
            team=team, reviewer__isnull=False, reviewer__is_bot=False, submitted_at__gte=start, submitted_at__lt=end
        )
        .values("reviewer_id", "reviewer__display_name", "reviewer__team_id")
        .annotate(reviews=Count("id"))
        .order_by()
    )
    rows = []
    for group in grouped:
        if group["reviewer__team_id"] != team.pk:
            raise TeamMember.DoesNotExist(f"{TeamMember._meta.object_name} matching query does not exist.")
        rows.append(
            {"member_id": group["reviewer_id"], "member_name": group["reviewer__display_name"], "reviews": group["reviews"]}
        )
    reviewers = len(rows)
    total = sum(row["reviews"] for row in rows)
    for row in rows:
        # reviews vs k × (total / reviewers), cross-multiplied so no rounding can flip a boundary case.
        if 2 * row["reviews"] * reviewers > 3 * total:
            row["workload"] = "high"
        elif 2 * row["reviews"] * reviewers < total:
            row["workload"] = "low"
        else:
            row["workload"] = "normal"
    rows.sort(key=lambda row: (-row["reviews"], row["member_name"], row["member_id"]))
    return rows


# --- weekly trends: metrics.cycle_time_trend, review_time_trend, ai_adoption_trend ---
#
# Legacy runs one query per team-local Monday week touching the range, each week clipped to the range.
# The twins compute those same bounds in Python (no query), filter the whole range once, and put each row
# in its week with a CASE over the weeks' ends: the clipped weeks are contiguous and cover exactly
# [range start, range end), so the first end a row is before is its week. Weeks without rows get legacy's
# empty entry. The three share that bucketing (`_by_week`), and nothing else.


def _by_week(team: Team, start_date: dt.date, end_date: dt.date, rows, instant: str, **aggregates) -> tuple[list, dict]:
    """(the range's Mondays, {week index: aggregates}) for `rows` already filtered to the range, bucketed by the
    week of their `instant` field; no query when the range touches no week."""
    _range_start, range_end = day_range(team, start_date, end_date)
    mondays = weeks_between(start_date, end_date)
    if not mondays:
        return [], {}
    week = Case(
        *(
            When(**{f"{instant}__lt": min(week_range(team, monday)[1], range_end)}, then=Value(index))
            for index, monday in enumerate(mondays)
        ),
        output_field=IntegerField(),
    )
    grouped = rows.annotate(week=week).values("week").annotate(**aggregates).order_by()
    return mondays, {group["week"]: group for group in grouped}


def _mean_per_week(mondays: list, grouped: dict) -> list[dict]:
    """The time trends' entries: each week's rounded mean ("avg") and PR count, legacy's empty entry without rows."""
    return [
        {
            "week_start": monday,
            "value": round2(grouped[index]["avg"]) if index in grouped else None,
            "prs": grouped[index]["prs"] if index in grouped else 0,
        }
        for index, monday in enumerate(mondays)
    ]


@cached_computation("cycle_time_trend")
def get_cycle_time_trend(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Weekly mean cycle time of PRs merged from start_date to end_date (both inclusive, team-local days).

    Same entries as legacy.get_cycle_time_trend: one per team-local Monday week
    touching the range, oldest first, the first and last weeks clipped to the
    range, weeks without PRs included: {"week_start", "value" (rounded mean of
    the non-null cycle times, None without one), "prs" (every merged PR)}.

    Query shape: one grouped query over the whole range, whatever the number
    of weeks (none when the range touches no week).
    """
    range_start, range_end = day_range(team, start_date, end_date)
    prs = PullRequest.objects.filter(
        team=team, state=PullRequest.State.MERGED, merged_at__gte=range_start, merged_at__lt=range_end
    )
    mondays, grouped = _by_week(
        team, start_date, end_date, prs, "merged_at", avg=Avg("cycle_time_hours"), prs=Count("id")
    )
    return _mean_per_week(mondays, grouped)


@cached_computation("review_time_trend")
def get_review_time_trend(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Weekly mean review time of PRs merged from start_date to end_date (both inclusive, team-local days).

    Same entries as legacy.get_review_time_trend: the weeks of
    get_cycle_time_trend, over review_time_hours, counting only PRs that have
    one (in "value" and in "prs"), so a week of unreviewed PRs has value None
    and prs 0.

    Query shape: one grouped query over the whole range, whatever the number
    of weeks (none when the range touches no week).
    """
    range_start, range_end = day_range(team, start_date, end_date)
    prs = PullRequest.objects.filter(
        team=team,
        state=PullRequest.State.MERGED,
        merged_at__gte=range_start,
        merged_at__lt=range_end,
        review_time_hours__isnull=False,
    )
    mondays, grouped = _by_week(
        team, start_date, end_date, prs, "merged_at", avg=Avg("review_time_hours"), prs=Count("id")
    )
    return _mean_per_week(mondays, grouped)


@cached_computation("ai_adoption_trend")
def get_ai_adoption_trend(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Weekly survey-based AI % of PRs merged from start_date to end_date (both inclusive, team-local days).

    Same entries as legacy.get_ai_adoption_trend: the weeks of
    get_cycle_time_trend, each {"week_start", "ai_pct" (surveys answered
    "AI-assisted" ÷ all surveys on the week's merged PRs × 100, unanswered
    ones in the denominator; 0.00 without surveys), "surveys" (all of them)}.

    Query shape: one grouped query over the surveys joined to their PRs,
    whatever the number of weeks (none when the range touches no week). A PR
    has at most one survey, so each survey is counted once. Surveys and PRs
    are both filtered by team, as legacy filters both.
    """
    range_start, range_end = day_range(team, start_date, end_date)
    surveys = PRSurvey.objects.filter(
        team=team,
        pull_request__team=team,
        pull_request__state=PullRequest.State.MERGED,
        pull_request__merged_at__gte=range_start,
        pull_request__merged_at__lt=range_end,
    )
    mondays, grouped = _by_week(
        team, start_date, end_date, surveys, "pull_request__merged_at",
        surveys=Count("id"), surveys_ai=Count("id", filter=Q(author_ai_assisted=True)),
    )
    trend = []
    for index, monday in enumerate(mondays):
        group = grouped.get(index)
        surveys = group["surveys"] if group else 0
        trend.append(
            {
                "week_start": monday,
                "ai_pct": percent(group["surveys_ai"] if group else 0, surveys),
                "surveys": surveys,
            }
        )
    return trend


# --- metrics.pr_size_distribution -------------------------------------------------


@cached_computation("pr_size_distribution")
def get_pr_size_distribution(*, team: Team, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Count of PRs merged from start_date to end_date (both inclusive, team-local days) per size bucket.

    Same list as legacy.get_pr_size_distribution: the five buckets of
    SIZE_BUCKETS in order, [{"size": "XS", "count": n}, ...], 0 where empty.
    Size is additions + deletions; a bucket's upper bound is inclusive and
    everything at or below XS's bound (negative sizes too) is XS, as
    size_bucket decides.

    Query shape: one aggregate with a FILTERed count per bucket, instead of
    loading every PR. The sum is taken as bigint, so two large integer
    columns cannot overflow where Python's addition would not.
    """
    start, end = day_range(team, start_date, end_date)
    counts = {}
    lower: int | None = None
    for label, upper in SIZE_BUCKETS:
        bounds = Q()
        if lower is not None:
            bounds &= Q(lines__gt=lower)
        if upper is not None:
            bounds &= Q(lines__lte=upper)
        counts[label] = Count("id", filter=bounds)
        lower = upper
    totals = (
        PullRequest.objects.filter(team=team, state=PullRequest.State.MERGED, merged_at__gte=start, merged_at__lt=end)
        .annotate(lines=Cast("additions", BigIntegerField()) + Cast("deletions", BigIntegerField()))
        .aggregate(**counts)
    )
    return [{"size": label, "count": totals[label]} for label, _upper in SIZE_BUCKETS]


# --- metrics.copilot_metrics ------------------------------------------------------


@cached_computation("copilot_metrics")
def get_copilot_metrics(*, team: Team, start_date: dt.date, end_date: dt.date) -> dict:
    """Team Copilot totals over usage days start_date to end_date (both inclusive).

    Same result as legacy.get_copilot_metrics: total_shown and total_accepted
    (ints, 0 without usage), acceptance_rate (Decimal, two places half up;
    None when nothing was shown), active_members (distinct members with a day
    showing suggestions, bots left out; their usage stays in the totals).
    Dates are GitHub's calendar days, compared as they are; members are not
    filtered by team, as in legacy.

    Query shape: one aggregate (both sums and the FILTERed distinct count)
    instead of two.
    """
    totals = AIUsageDaily.objects.filter(
        team=team, source=AIUsageDaily.Source.COPILOT, date__gte=start_date, date__lte=end_date
    ).aggregate(
        shown=Sum("suggestions_shown"),
        accepted=Sum("suggestions_accepted"),
        active=Count("member_id", distinct=True, filter=Q(suggestions_shown__gt=0, member__is_bot=False)),
    )
    shown = totals["shown"] or 0
    accepted = totals["accepted"] or 0
    return {
        "total_shown": shown,
        "total_accepted": accepted,
        "acceptance_rate": acceptance_rate(shown, accepted),
        "active_members": totals["active"],
    }


# --- metrics.recent_prs -----------------------------------------------------------


@cached_computation("recent_prs")
def get_recent_prs(*, team: Team, start_date: dt.date, end_date: dt.date, limit: int = 10) -> list[dict]:
    """The latest `limit` PRs merged from start_date to end_date (both inclusive, team-local days).

    Same rows, keys, types and order as legacy.get_recent_prs: newest merge
    first, ties by higher id first; author_name is the author's display name
    ("" without an author), url the GitHub PR URL as the model builds it.
    `limit` slices the queryset as legacy does: 0 gives no rows without a
    query, a negative limit raises Django's ValueError ("Negative indexing is
    not supported.").

    Query shape: one query with the author joined and LIMIT, instead of one
    more per row with an author.
    """
    start, end = day_range(team, start_date, end_date)
    prs = (
        PullRequest.objects.filter(team=team, state=PullRequest.State.MERGED, merged_at__gte=start, merged_at__lt=end)
        .order_by("-merged_at", "-id")
        .values(
            "id",
            "title",
            "github_repo",
            "github_pr_id",
            "author__display_name",
            "merged_at",
            "cycle_time_hours",
            "is_ai_assisted",
        )[:limit]
    )
    return [
        {
            "id": pr["id"],
            "title": pr["title"],
            "github_repo": pr["github_repo"],
            "github_pr_id": pr["github_pr_id"],
            # An unsaved instance builds the URL by the model's own rule, without a query.
            "url": PullRequest(github_repo=pr["github_repo"], github_pr_id=pr["github_pr_id"]).github_url,
            "author_name": pr["author__display_name"] if pr["author__display_name"] is not None else "",
            "merged_at": pr["merged_at"],
            "cycle_time_hours": pr["cycle_time_hours"],
            "is_ai_assisted": pr["is_ai_assisted"],
        }
        for pr in prs
    ]
