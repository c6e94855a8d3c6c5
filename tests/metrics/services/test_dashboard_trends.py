"""Legacy dashboard services: weekly cycle time, review time and AI adoption trends.

The range used throughout is Wednesday 2026-11-04 to Sunday 2026-11-22, both
inclusive: it touches the weeks of Monday 2 November (from Wednesday on only),
9 November and 16 November.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services.dashboard import legacy
from tests.factories import PRSurveyFactory, PullRequestFactory, TeamFactory, TeamMemberFactory

UTC = dt.UTC
START = dt.date(2026, 11, 4)
END = dt.date(2026, 11, 22)
WEEK_1 = dt.date(2026, 11, 2)
WEEK_2 = dt.date(2026, 11, 9)
WEEK_3 = dt.date(2026, 11, 16)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """A UTC instant in November 2026."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def merged_pr(team, author, *, merged_at, cycle: str | None = "24.00", review: str | None = "4.00", **kwargs):
    return PullRequestFactory(
        team=team,
        author=author,
        merged_at=merged_at,
        cycle_time_hours=None if cycle is None else Decimal(cycle),
        review_time_hours=None if review is None else Decimal(review),
        **kwargs,
    )


# --- get_cycle_time_trend --------------------------------------------------------


@pytest.mark.django_db
def test_cycle_time_trend_on_hand_built_data(team):
    """One entry per week; the first week only counts days inside the range; empty weeks have value None."""
    ana = TeamMemberFactory(team=team)
    bruno = TeamMemberFactory(team=team)
    # Tuesday 3 November: same week as the range start, but before it.
    merged_pr(team, ana, merged_at=at(3), cycle="100.00")
    merged_pr(team, ana, merged_at=at(4, 0, 0), cycle="6.00")
    merged_pr(team, ana, merged_at=at(17), cycle="10.00")
    merged_pr(team, bruno, merged_at=at(18), cycle="20.50")
    merged_pr(team, None, merged_at=at(22, 23, 59, 59), cycle=None)
    merged_pr(team, bruno, merged_at=at(23, 0, 0), cycle="300.00")
    PullRequestFactory(team=team, author=ana, state=PullRequest.State.OPEN, merged_at=None)

    trend = legacy.get_cycle_time_trend(team=team, start_date=START, end_date=END)

    assert trend == [
        {"week_start": WEEK_1, "value": Decimal("6.00"), "prs": 1},
        {"week_start": WEEK_2, "value": None, "prs": 0},
        {"week_start": WEEK_3, "value": Decimal("15.25"), "prs": 3},
    ]


@pytest.mark.django_db
def test_cycle_time_trend_empty_team(team):
    """Every week of the range is listed even without any PR."""
    trend = legacy.get_cycle_time_trend(team=team, start_date=START, end_date=END)

    assert trend == [
        {"week_start": WEEK_1, "value": None, "prs": 0},
        {"week_start": WEEK_2, "value": None, "prs": 0},
        {"week_start": WEEK_3, "value": None, "prs": 0},
    ]


@pytest.mark.django_db
def test_cycle_time_trend_single_day_range(team):
    """A one-day range is one week entry counting only that day."""
    member = TeamMemberFactory(team=team)
    merged_pr(team, member, merged_at=at(18), cycle="2.25")
    merged_pr(team, member, merged_at=at(19), cycle="9.00")

    trend = legacy.get_cycle_time_trend(team=team, start_date=dt.date(2026, 11, 18), end_date=dt.date(2026, 11, 18))

    assert trend == [{"week_start": WEEK_3, "value": Decimal("2.25"), "prs": 1}]


@pytest.mark.django_db
def test_cycle_time_trend_weeks_follow_team_timezone():
    """New York team: Monday 03:00 UTC is still Sunday locally, so the PR belongs to the previous week."""
    team = TeamFactory(timezone="America/New_York")
    member = TeamMemberFactory(team=team)
    # Sunday 15 November 22:00 local.
    merged_pr(team, member, merged_at=at(16, 3), cycle="3.00")
    # Monday 16 November 00:00 local.
    merged_pr(team, member, merged_at=at(16, 5), cycle="5.00")
    # Sunday 22 November 23:59:59 local: last instant of the range.
    merged_pr(team, member, merged_at=at(23, 4, 59, 59), cycle="7.00")
    # Monday 23 November 00:00 local: after the range.
    merged_pr(team, member, merged_at=at(23, 5), cycle="99.00")

    trend = legacy.get_cycle_time_trend(team=team, start_date=WEEK_2, end_date=END)

    assert trend == [
        {"week_start": WEEK_2, "value": Decimal("3.00"), "prs": 1},
        {"week_start": WEEK_3, "value": Decimal("6.00"), "prs": 2},
    ]


@pytest.mark.django_db
def test_cycle_time_trend_ignores_other_teams(team, other_team):
    """Another team's PRs never count."""
    merged_pr(team, TeamMemberFactory(team=team), merged_at=at(17), cycle="10.00")
    merged_pr(other_team, TeamMemberFactory(team=other_team), merged_at=at(17), cycle="90.00")

    trend = legacy.get_cycle_time_trend(team=team, start_date=WEEK_3, end_date=END)

    assert trend == [{"week_start": WEEK_3, "value": Decimal("10.00"), "prs": 1}]


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "end_date", "queries"), [(2, END, 3), (6, END, 3), (6, dt.date(2026, 11, 8), 1)])
def test_cycle_time_trend_query_count_grows_per_week(team, django_assert_num_queries, members, end_date, queries):
    """The "before" later optimization improves on: one query per week, whatever the team size."""
    for day in (5, 12, 19):
        for _ in range(members):
            merged_pr(team, TeamMemberFactory(team=team), merged_at=at(day))

    with django_assert_num_queries(queries):
        legacy.get_cycle_time_trend(team=team, start_date=START, end_date=end_date)


# --- get_review_time_trend -------------------------------------------------------


@pytest.mark.django_db
def test_review_time_trend_on_hand_built_data(team):
    """Weekly mean review time; PRs without a review time count neither in value nor in prs."""
    ana = TeamMemberFactory(team=team)
    bruno = TeamMemberFactory(team=team)
    merged_pr(team, ana, merged_at=at(3), review="100.00")
    merged_pr(team, ana, merged_at=at(5), review="1.50")
    merged_pr(team, ana, merged_at=at(6), review="2.00")
    merged_pr(team, bruno, merged_at=at(10), review=None)
    merged_pr(team, ana, merged_at=at(17), review="10.00")
    merged_pr(team, None, merged_at=at(18), review="20.50")
    merged_pr(team, bruno, merged_at=at(19), review=None)

    trend = legacy.get_review_time_trend(team=team, start_date=START, end_date=END)

    assert trend == [
        {"week_start": WEEK_1, "value": Decimal("1.75"), "prs": 2},
        {"week_start": WEEK_2, "value": None, "prs": 0},
        {"week_start": WEEK_3, "value": Decimal("15.25"), "prs": 2},
    ]


@pytest.mark.django_db
def test_review_time_trend_empty_team(team):
    """Every week listed with value None and prs 0."""
    trend = legacy.get_review_time_trend(team=team, start_date=START, end_date=END)

    assert trend == [
        {"week_start": WEEK_1, "value": None, "prs": 0},
        {"week_start": WEEK_2, "value": None, "prs": 0},
        {"week_start": WEEK_3, "value": None, "prs": 0},
    ]


@pytest.mark.django_db
def test_review_time_trend_range_bounds_follow_team_timezone():
    """New York team: local 00:00 on start and 23:59:59 on end are in; the instants just outside are out."""
    team = TeamFactory(timezone="America/New_York")
    member = TeamMemberFactory(team=team)
    merged_pr(team, member, merged_at=at(16, 4, 59, 59), review="1.00")
    merged_pr(team, member, merged_at=at(16, 5), review="2.00")
    merged_pr(team, member, merged_at=at(23, 4, 59, 59), review="4.00")
    merged_pr(team, member, merged_at=at(23, 5), review="8.00")

    trend = legacy.get_review_time_trend(team=team, start_date=WEEK_3, end_date=END)

    assert trend == [{"week_start": WEEK_3, "value": Decimal("3.00"), "prs": 2}]


@pytest.mark.django_db
def test_review_time_trend_ignores_other_teams(team, other_team):
    """Another team's PRs never count."""
    merged_pr(team, TeamMemberFactory(team=team), merged_at=at(17), review="3.00")
    merged_pr(other_team, TeamMemberFactory(team=other_team), merged_at=at(17), review="90.00")

    trend = legacy.get_review_time_trend(team=team, start_date=WEEK_3, end_date=END)

    assert trend == [{"week_start": WEEK_3, "value": Decimal("3.00"), "prs": 1}]


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "end_date", "queries"), [(2, END, 3), (6, END, 3), (6, dt.date(2026, 11, 8), 1)])
def test_review_time_trend_query_count_grows_per_week(team, django_assert_num_queries, members, end_date, queries):
    """The "before" later optimization improves on: one query per week, whatever the team size."""
    for day in (5, 12, 19):
        for _ in range(members):
            merged_pr(team, TeamMemberFactory(team=team), merged_at=at(day))

    with django_assert_num_queries(queries):
        legacy.get_review_time_trend(team=team, start_date=START, end_date=end_date)


# --- get_ai_adoption_trend -------------------------------------------------------


@pytest.mark.django_db
def test_ai_adoption_trend_on_hand_built_data(team):
    """Weekly survey AI share over the week's merged PRs; unanswered surveys count in the total."""
    member = TeamMemberFactory(team=team)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(3)), author_ai_assisted=True)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(5)), author_ai_assisted=True)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(6)), author_ai_assisted=False)
    merged_pr(team, member, merged_at=at(11))
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(16)), author_ai_assisted=True)
    PRSurveyFactory(pull_request=merged_pr(team, None, merged_at=at(17)), author=None, author_ai_assisted=False)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(18)), author_ai_assisted=None)
    open_pr = PullRequestFactory(team=team, author=member, state=PullRequest.State.OPEN, merged_at=None)
    PRSurveyFactory(pull_request=open_pr, author_ai_assisted=True)

    trend = legacy.get_ai_adoption_trend(team=team, start_date=START, end_date=END)

    assert trend == [
        {"week_start": WEEK_1, "ai_pct": Decimal("50.00"), "surveys": 2},
        {"week_start": WEEK_2, "ai_pct": Decimal("0.00"), "surveys": 0},
        {"week_start": WEEK_3, "ai_pct": Decimal("33.33"), "surveys": 3},
    ]


@pytest.mark.django_db
def test_ai_adoption_trend_empty_team(team):
    """Every week listed with 0.00 and no surveys."""
    trend = legacy.get_ai_adoption_trend(team=team, start_date=START, end_date=END)

    assert trend == [
        {"week_start": WEEK_1, "ai_pct": Decimal("0.00"), "surveys": 0},
        {"week_start": WEEK_2, "ai_pct": Decimal("0.00"), "surveys": 0},
        {"week_start": WEEK_3, "ai_pct": Decimal("0.00"), "surveys": 0},
    ]


@pytest.mark.django_db
def test_ai_adoption_trend_weeks_follow_team_timezone():
    """New York team: a PR merged Monday 03:00 UTC (Sunday evening locally) counts in the previous week."""
    team = TeamFactory(timezone="America/New_York")
    member = TeamMemberFactory(team=team)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(16, 3)), author_ai_assisted=True)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(16, 5)), author_ai_assisted=False)
    PRSurveyFactory(pull_request=merged_pr(team, member, merged_at=at(23, 5)), author_ai_assisted=True)

    trend = legacy.get_ai_adoption_trend(team=team, start_date=WEEK_2, end_date=END)

    assert trend == [
        {"week_start": WEEK_2, "ai_pct": Decimal("100.00"), "surveys": 1},
        {"week_start": WEEK_3, "ai_pct": Decimal("0.00"), "surveys": 1},
    ]


@pytest.mark.django_db
def test_ai_adoption_trend_ignores_other_teams(team, other_team):
    """Another team's surveys never count."""
    own = merged_pr(team, TeamMemberFactory(team=team), merged_at=at(17))
    PRSurveyFactory(pull_request=own, author_ai_assisted=False)
    foreign = merged_pr(other_team, TeamMemberFactory(team=other_team), merged_at=at(17))
    PRSurveyFactory(pull_request=foreign, author_ai_assisted=True)

    trend = legacy.get_ai_adoption_trend(team=team, start_date=WEEK_3, end_date=END)

    assert trend == [{"week_start": WEEK_3, "ai_pct": Decimal("0.00"), "surveys": 1}]


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "end_date", "queries"), [(2, END, 6), (6, END, 6), (6, dt.date(2026, 11, 8), 2)])
def test_ai_adoption_trend_query_count_grows_per_week(team, django_assert_num_queries, members, end_date, queries):
    """The "before" later optimization improves on: two queries per week, whatever the team size."""
    for day in (5, 12, 19):
        for _ in range(members):
            PRSurveyFactory(pull_request=merged_pr(team, TeamMemberFactory(team=team), merged_at=at(day)))

    with django_assert_num_queries(queries):
        legacy.get_ai_adoption_trend(team=team, start_date=START, end_date=end_date)
