"""Legacy dashboard services: key metrics of one period (get_key_metrics, not a pair).

The range used throughout is Monday 2026-11-16 to Sunday 2026-11-22, both
inclusive, in the team's time zone. The paired dashboard functions (team
breakdown, Copilot by member, key metrics with the previous period) are tested
on both sides by their contract suites in tests/metrics/contracts/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy
from tests.factories import (
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
)

UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
IN_RANGE = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def merged_pr(team, author, *, merged_at=IN_RANGE, cycle: str | None = "24.00", **kwargs) -> PullRequest:
    return PullRequestFactory(
        team=team,
        author=author,
        merged_at=merged_at,
        cycle_time_hours=None if cycle is None else Decimal(cycle),
        **kwargs,
    )


def test_entry_point_exports_every_legacy_function():
    """Views import from apps.metrics.services.dashboard: every legacy name is reachable there."""
    assert sorted(dashboard.__all__) == sorted(legacy.__all__)
    assert all(callable(getattr(dashboard, name)) for name in legacy.__all__)


# --- get_key_metrics -------------------------------------------------------------


@pytest.mark.django_db
def test_key_metrics_on_hand_built_data(team):
    """Counts merged PRs in range, averages non-null cycle times and ratings, and takes the survey AI share."""
    ana = TeamMemberFactory(team=team, display_name="Ana")
    bruno = TeamMemberFactory(team=team, display_name="Bruno")
    pr_a = merged_pr(team, ana, cycle="10.00")
    pr_b = merged_pr(team, bruno, cycle="20.50")
    pr_c = merged_pr(team, bruno, cycle=None)
    survey_a = PRSurveyFactory(pull_request=pr_a, author_ai_assisted=True)
    survey_b = PRSurveyFactory(pull_request=pr_b, author_ai_assisted=False)
    PRSurveyFactory(pull_request=pr_c, author_ai_assisted=True)
    PRSurveyReviewFactory(survey=survey_a, quality_rating=3)
    PRSurveyReviewFactory(survey=survey_a, quality_rating=2)
    PRSurveyReviewFactory(survey=survey_b, quality_rating=2)
    PRSurveyReviewFactory(survey=survey_b, quality_rating=None)
    # Not merged in range: none of these count anywhere.
    open_pr = PullRequestFactory(team=team, author=ana, state=PullRequest.State.OPEN, merged_at=None)
    closed_pr = PullRequestFactory(team=team, author=ana, state=PullRequest.State.CLOSED, merged_at=None)
    old_pr = merged_pr(team, ana, merged_at=dt.datetime(2026, 11, 10, 12, 0, tzinfo=UTC), cycle="500.00")
    PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=open_pr, author_ai_assisted=False), quality_rating=1)
    PRSurveyFactory(pull_request=closed_pr, author_ai_assisted=False)
    PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=old_pr, author_ai_assisted=False), quality_rating=1)

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "prs_merged": 3,
        "avg_cycle_time": Decimal("15.25"),
        "avg_quality_rating": Decimal("2.33"),
        "ai_assisted_pct": Decimal("66.67"),
    }


@pytest.mark.django_db
def test_key_metrics_empty_team(team):
    """A team without PRs: zero merged, no averages, 0.00 AI share."""
    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "prs_merged": 0,
        "avg_cycle_time": None,
        "avg_quality_rating": None,
        "ai_assisted_pct": Decimal("0.00"),
    }


@pytest.mark.django_db
def test_key_metrics_single_member_without_surveys(team):
    """One member, one PR, no survey: AI share is 0.00 and there is no quality rating."""
    member = TeamMemberFactory(team=team)
    merged_pr(team, member, cycle="7.50")

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "prs_merged": 1,
        "avg_cycle_time": Decimal("7.50"),
        "avg_quality_rating": None,
        "ai_assisted_pct": Decimal("0.00"),
    }


@pytest.mark.django_db
def test_key_metrics_counts_prs_without_author(team):
    """A PR whose author is unknown still counts, with its cycle time and its survey."""
    member = TeamMemberFactory(team=team)
    merged_pr(team, member, cycle="10.00")
    orphan = merged_pr(team, None, cycle="20.00")
    PRSurveyFactory(pull_request=orphan, author=None, author_ai_assisted=True)

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result["prs_merged"] == 2
    assert result["avg_cycle_time"] == Decimal("15.00")
    assert result["ai_assisted_pct"] == Decimal("100.00")


@pytest.mark.django_db
def test_key_metrics_unanswered_surveys_count_in_the_denominator(team):
    """Known doubt, kept as the contract reads: a survey not yet answered lowers the AI share."""
    member = TeamMemberFactory(team=team)
    PRSurveyFactory(pull_request=merged_pr(team, member), author_ai_assisted=True)
    PRSurveyFactory(pull_request=merged_pr(team, member), author_ai_assisted=None)
    PRSurveyFactory(pull_request=merged_pr(team, member), author_ai_assisted=None)

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result["ai_assisted_pct"] == Decimal("33.33")


@pytest.mark.django_db
def test_key_metrics_rounds_half_up(team):
    """Averages are rounded to two places half up: 10.00 and 10.01 average to 10.01, not 10.00."""
    member = TeamMemberFactory(team=team)
    merged_pr(team, member, cycle="10.00")
    merged_pr(team, member, cycle="10.01")

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result["avg_cycle_time"] == Decimal("10.01")


@pytest.mark.django_db
def test_key_metrics_range_bounds_utc(team):
    """Both dates are inclusive whole days: start 00:00 and end 23:59:59 are in, the next instants out."""
    member = TeamMemberFactory(team=team)
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 15, 23, 59, 59, tzinfo=UTC), cycle="1.00")
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 16, 0, 0, tzinfo=UTC), cycle="2.00")
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC), cycle="4.00")
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC), cycle="8.00")

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result["prs_merged"] == 2
    assert result["avg_cycle_time"] == Decimal("3.00")


@pytest.mark.django_db
def test_key_metrics_range_bounds_follow_team_timezone():
    """For a New York team (UTC-5 in November) the range is 2026-11-16 05:00 to 2026-11-23 05:00 UTC."""
    team = TeamFactory(timezone="America/New_York")
    member = TeamMemberFactory(team=team)
    # 2026-11-15 23:59:59 local: out (it would be in for a UTC team).
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 16, 4, 59, 59, tzinfo=UTC), cycle="1.00")
    # 2026-11-16 00:00 local: in.
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 16, 5, 0, tzinfo=UTC), cycle="2.00")
    # 2026-11-22 23:59:59 local: in (it would be out for a UTC team).
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 23, 4, 59, 59, tzinfo=UTC), cycle="4.00")
    # 2026-11-23 00:00 local: out.
    merged_pr(team, member, merged_at=dt.datetime(2026, 11, 23, 5, 0, tzinfo=UTC), cycle="8.00")

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result["prs_merged"] == 2
    assert result["avg_cycle_time"] == Decimal("3.00")


@pytest.mark.django_db
def test_key_metrics_ignore_other_teams(team, other_team):
    """Another team's PRs, surveys and ratings in the same range never count."""
    member = TeamMemberFactory(team=team)
    PRSurveyFactory(pull_request=merged_pr(team, member, cycle="10.00"), author_ai_assisted=False)
    stranger = TeamMemberFactory(team=other_team)
    foreign_pr = merged_pr(other_team, stranger, cycle="90.00")
    PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=foreign_pr, author_ai_assisted=True), quality_rating=3)

    result = legacy.get_key_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "prs_merged": 1,
        "avg_cycle_time": Decimal("10.00"),
        "avg_quality_rating": None,
        "ai_assisted_pct": Decimal("0.00"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("members", [2, 6])
def test_key_metrics_query_count_is_constant(team, django_assert_num_queries, members):
    """Five queries whatever the team size (count, cycle average, quality average, two survey counts)."""
    for _ in range(members):
        author = TeamMemberFactory(team=team)
        PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=merged_pr(team, author)))

    with django_assert_num_queries(5):
        legacy.get_key_metrics(team=team, start_date=START, end_date=END)
