"""The AI impact card: AI-assisted PRs against the rest, for the dashboard's range.

Two groupings of the team's PRs merged from start_date to end_date (both
inclusive, team-local days, as every card bounds its range: `day_range`):

- by the survey's answer: the author said AI-assisted, the author said not,
  and no answer (no survey, or a survey not answered yet), counted apart;
- by the author's Copilot activity: the author accepted at least one Copilot
  suggestion on a day from the PR's creation to its merge (both team-local
  days, inclusive), or not (a PR without an author is "not": no activity can
  be attributed to it).

Each group gets its PR count, the median and p75 cycle time, the median
time to first review (review_time_hours, as the review-time trend reads it),
the mean quality rating over every rating of its PRs' surveys (as key
metrics averages them) and the median size (additions + deletions), each
with its own sample size where values can be missing.

Not a pair: there is no legacy twin. Cached like the cards (the team's data
stamp, plus one query on a miss).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Case, Count, Exists, F, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Cast, TruncDate

from apps.metrics.cache import cached_computation
from apps.metrics.models import AIUsageDaily, PRSurveyReview, PullRequest
from apps.metrics.services.common import day_range, round2
from apps.teams.models import Team

# Below this many PRs a group's medians say more about single PRs than about AI.
MIN_GROUP_SIZE = 10


@dataclass(frozen=True)
class GroupStats:
    """One group's figures; None where the group has no value to take them from."""

    label: str
    prs: int
    cycle_times: int  # PRs with a cycle time: the sample of both percentiles
    median_cycle_hours: Decimal | None
    p75_cycle_hours: Decimal | None
    review_times: int  # PRs with a first review
    median_review_hours: Decimal | None
    ratings: int  # quality ratings given on the group's PRs
    mean_quality: Decimal | None
    median_size: Decimal | None  # lines added + deleted


@dataclass(frozen=True)
class Grouping:
    """AI-assisted against the rest by one definition; `notes` say why they cannot be compared yet."""

    key: str  # "survey" or "copilot"
    title: str
    description: str  # what puts a PR on each side, in plain words
    ai: GroupStats
    other: GroupStats
    apart: GroupStats | None  # PRs that belong to neither side (the survey's "no answer")
    notes: tuple[str, ...]

    @property
    def comparable(self) -> bool:
        return not self.notes

    @property
    def groups(self) -> tuple[GroupStats, ...]:
        return (self.ai, self.other) if self.apart is None else (self.ai, self.other, self.apart)


@dataclass(frozen=True)
class AIImpact:
    start_date: dt.date
    end_date: dt.date
    prs: int  # every PR merged in the range, bots' left out
    by_survey: Grouping
    by_copilot: Grouping

    @property
    def groupings(self) -> tuple[Grouping, Grouping]:
        return (self.by_survey, self.by_copilot)


# Group key -> (label, condition on the per-PR row). The key names the outer query's columns.
_GROUPS: dict[str, tuple[str, str]] = {
    "survey_ai": ("AI-assisted", "survey_ai IS TRUE"),
    "survey_not": ("Not AI-assisted", "survey_ai IS FALSE"),
    "survey_none": ("No answer", "survey_ai IS NULL"),
    "copilot_yes": ("Copilot used", "copilot"),
    "copilot_no": ("No Copilot", "NOT copilot"),
}

# Percentiles are taken over hundredths as float8: cycle and review times have two decimals, so their
# hundredths are integers, and percentile_cont's interpolation at the 0.5 and 0.75 positions only adds
# halves and quarters of them: exact in float8, so rounding half up afterwards is exact too.
_AGGREGATES = (
    ("prs", "count(*)"),
    ("cycle_times", "count(cycle_time_hours)"),
    ("median_cycle", "percentile_cont(0.5) WITHIN GROUP (ORDER BY (cycle_time_hours * 100)::float8)"),
    ("p75_cycle", "percentile_cont(0.75) WITHIN GROUP (ORDER BY (cycle_time_hours * 100)::float8)"),
    ("review_times", "count(review_time_hours)"),
    ("median_review", "percentile_cont(0.5) WITHIN GROUP (ORDER BY (review_time_hours * 100)::float8)"),
    ("rating_sum", "sum(rating_sum)"),
    ("ratings", "sum(rating_count)"),
    ("median_size", "percentile_cont(0.5) WITHIN GROUP (ORDER BY (lines * 100)::float8)"),
)


def _per_pr_sql(team: Team, start_date: dt.date, end_date: dt.date) -> tuple[str, tuple[Any, ...]]:
    """The range's merged PRs, one row each with what the groups and figures need, compiled by Django."""
    start, end = day_range(team, start_date, end_date)
    zone = team.tzinfo
    copilot_days = AIUsageDaily.objects.filter(
        team=team,
        member_id=OuterRef("author_id"),
        source=AIUsageDaily.Source.COPILOT,
        suggestions_accepted__gt=0,
        date__gte=OuterRef("created_day"),
        date__lte=OuterRef("merged_day"),
    )
    # Ratings are many per survey: summed per PR here, so the outer query sees one row per PR.
    ratings = (
        PRSurveyReview.objects.filter(
            team=team, survey__team=team, survey__pull_request=OuterRef("pk"), quality_rating__isnull=False
        )
        .values("survey__pull_request")
        .order_by()
    )
    prs = (
        PullRequest.objects.filter(team=team, state=PullRequest.State.MERGED, merged_at__gte=start, merged_at__lt=end)
        # Bots neither answer surveys nor use Copilot: their PRs would only swell the "other" groups.
        .exclude(author__is_bot=True)
        .annotate(
            created_day=TruncDate("pr_created_at", tzinfo=zone),
            merged_day=TruncDate("merged_at", tzinfo=zone),
        )
        .annotate(
            # One survey per PR at most (one-to-one), so this join cannot repeat a PR. A survey of another
            # team (inconsistent data) counts as no answer, as the cards filter surveys by team.
            survey_ai=Case(
                When(survey__team=team, then=F("survey__author_ai_assisted")),
                default=Value(None),
                output_field=BooleanField(null=True),
            ),
            copilot=Exists(copilot_days),
            rating_sum=Subquery(ratings.annotate(total=Sum("quality_rating")).values("total")),
            rating_count=Subquery(ratings.annotate(count=Count("id")).values("count")),
            # bigint, so two large integer columns cannot overflow.
            lines=Cast("additions", BigIntegerField()) + Cast("deletions", BigIntegerField()),
        )
        .values(
            "cycle_time_hours", "review_time_hours", "survey_ai", "copilot", "rating_sum", "rating_count", "lines"
        )
    )
    sql, params = prs.query.sql_with_params()
    return sql, tuple(params)


def _aggregate_sql(inner: str) -> str:
    """One row: every group's figures as FILTERed aggregates over the per-PR rows."""
    columns = ",\n  ".join(
        f"{expression} FILTER (WHERE {condition}) AS {key}__{name}"
        for key, (_label, condition) in _GROUPS.items()
        for name, expression in _AGGREGATES
    )
    return f"SELECT count(*) AS prs,\n  {columns}\nFROM ({inner}) AS per_pr"


def _hundredths(value: float | None) -> Decimal | None:
    # Exact: the float holds a whole number of quarter hundredths (see _AGGREGATES).
    return None if value is None else round2(Decimal(value) / 100)


def _group(key: str, row: dict[str, Any]) -> GroupStats:
    def get(name: str) -> Any:
        return row[f"{key}__{name}"]

    ratings = int(get("ratings") or 0)
    return GroupStats(
        label=_GROUPS[key][0],
        prs=get("prs"),
        cycle_times=get("cycle_times"),
        median_cycle_hours=_hundredths(get("median_cycle")),
        p75_cycle_hours=_hundredths(get("p75_cycle")),
        review_times=get("review_times"),
        median_review_hours=_hundredths(get("median_review")),
        ratings=ratings,
        mean_quality=round2(Decimal(get("rating_sum")) / ratings) if ratings else None,
        median_size=_hundredths(get("median_size")),
    )


def too_few_note(group: GroupStats, noun: str) -> str:
    return f"Too few {noun} ({group.prs}) to compare; at least {MIN_GROUP_SIZE} are needed."


def _grouping(
    key: str, title: str, description: str, groups: tuple[GroupStats, GroupStats, GroupStats | None], nouns: tuple[str, str]
) -> Grouping:
    ai, other, apart = groups
    notes = tuple(
        too_few_note(group, noun) for group, noun in zip((ai, other), nouns, strict=True) if group.prs < MIN_GROUP_SIZE
    )
    return Grouping(key=key, title=title, description=description, ai=ai, other=other, apart=apart, notes=notes)


@cached_computation("ai_impact")
def get_ai_impact(*, team: Team, start_date: dt.date, end_date: dt.date) -> AIImpact:
    """AI-assisted PRs against the rest, by survey answer and by Copilot activity (see the module's docstring).

    PRs merged from start_date to end_date, both inclusive, team-local days.
    Medians and p75 are PostgreSQL's percentile_cont (interpolated), rounded
    half up to two places, like the mean quality rating; None for a group
    without values. A grouping has a note for each of its two compared groups
    with fewer than MIN_GROUP_SIZE PRs.

    Query shape: one query, whatever the team size or range: the per-PR rows
    (survey joined, Copilot days and ratings as correlated subqueries) under
    one aggregate with a FILTER per group.
    """
    inner, params = _per_pr_sql(team, start_date, end_date)
    with connection.cursor() as cursor:
        cursor.execute(_aggregate_sql(inner), params)
        names = [column.name for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    groups = {key: _group(key, row) for key in _GROUPS}
    return AIImpact(
        start_date=start_date,
        end_date=end_date,
        prs=row["prs"],
        by_survey=_grouping(
            "survey",
            "By the author's survey answer",
            "What the author answered to \"was this PR AI-assisted?\"; PRs without an answer are counted apart.",
            (groups["survey_ai"], groups["survey_not"], groups["survey_none"]),
            ("AI-assisted PRs", "PRs answered not AI-assisted"),
        ),
        by_copilot=_grouping(
            "copilot",
            "By the author's Copilot activity between opening and merge",
            "Whether the author accepted a Copilot suggestion on any day from the PR's opening to its merge "
            "(the team's days). A PR open longer has more such days, so slow PRs lean to the Copilot side.",
            (groups["copilot_yes"], groups["copilot_no"], None),
            ("PRs with Copilot activity", "PRs without Copilot activity"),
        ),
    )
