"""Weekly per-member aggregation (legacy reference implementation).

The pair metrics.weekly_aggregation is tested on both sides by its contract suite
(tests/metrics/contracts/test_weekly_aggregation.py). Kept here: the hand-built week,
whose review answered this week on a PR merged the week before is not in the contract,
and previous_iso_week_start.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest, WeeklyMetrics
from apps.metrics.services.weekly_aggregation import previous_iso_week_start
from apps.metrics.services.weekly_aggregation.legacy import aggregate_team_weekly_metrics
from tests.factories import (
    CommitFactory,
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamMemberFactory,
)

UTC = dt.UTC
WEEK = dt.date(2026, 11, 16)  # a Monday


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


METRIC_FIELDS = (
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
)


def empty_row(member_id: int) -> dict:
    return {
        "member_id": member_id,
        "week_start": WEEK,
        "prs_merged": 0,
        "avg_cycle_time_hours": None,
        "avg_review_time_hours": None,
        "commits_count": 0,
        "lines_added": 0,
        "lines_removed": 0,
        "revert_count": 0,
        "hotfix_count": 0,
        "ai_assisted_prs": 0,
        "avg_quality_rating": None,
        "surveys_completed": 0,
        "guess_accuracy": None,
    }


def stored(member) -> dict:
    """The stored WeeklyMetrics row in the shape the service returns."""
    row = WeeklyMetrics.objects.get(member=member, week_start=WEEK)
    return {"member_id": row.member_id, "week_start": row.week_start, **{f: getattr(row, f) for f in METRIC_FIELDS}}


@pytest.mark.django_db
def test_every_field_from_a_hand_built_week(team):
    """PR aggregates, commits, surveys, quality and guesses add up to the literal numbers worked out by hand.

    Alice merges three PRs in the week (cycle 10, 25, 3.33 h; review 2, 5.5, none;
    one revert, one hotfix); surveys: AI yes, AI no, unanswered; ratings 3, 3, 2
    (the unanswered survey's review has no rating). Bob guesses right twice and
    wrong once within the week; his guess from the week before does not count.
    """
    alice = TeamMemberFactory(team=team, display_name="Alice")
    bob = TeamMemberFactory(team=team, display_name="Bob")
    carol = TeamMemberFactory(team=team, display_name="Carol", is_active=False)

    pr1 = PullRequestFactory(
        team=team, author=alice, merged_at=at(17, 10), cycle_time_hours=Decimal("10.00"),
        review_time_hours=Decimal("2.00"), additions=100, deletions=20,
    )
    pr2 = PullRequestFactory(
        team=team, author=alice, merged_at=at(18), cycle_time_hours=Decimal("25.00"),
        review_time_hours=Decimal("5.50"), additions=5, deletions=50, is_revert=True,
    )
    pr3 = PullRequestFactory(
        team=team, author=alice, merged_at=at(22, 23, 59), cycle_time_hours=Decimal("3.33"),
        review_time_hours=None, additions=1, deletions=1, is_hotfix=True,
    )
    # Not merged in the week: merged the Sunday before, still open, closed without merge.
    last_week_pr = PullRequestFactory(team=team, author=alice, merged_at=at(15, 23, 59), is_revert=True)
    PullRequestFactory(team=team, author=alice, state=PullRequest.State.OPEN, merged_at=None,
                       pr_created_at=at(17), additions=999)
    PullRequestFactory(team=team, author=alice, state=PullRequest.State.CLOSED, merged_at=at(19), is_hotfix=True)

    survey1 = PRSurveyFactory(pull_request=pr1, author_ai_assisted=True)
    survey2 = PRSurveyFactory(pull_request=pr2, author_ai_assisted=False)
    survey3 = PRSurveyFactory(pull_request=pr3, author_ai_assisted=None)
    last_week_survey = PRSurveyFactory(pull_request=last_week_pr, author_ai_assisted=True)

    PRSurveyReviewFactory(survey=survey1, reviewer=bob, quality_rating=3, ai_guess=True, responded_at=at(17, 11))
    PRSurveyReviewFactory(survey=survey1, reviewer=carol, quality_rating=3, ai_guess=False, responded_at=at(17, 12))
    PRSurveyReviewFactory(survey=survey2, reviewer=bob, quality_rating=2, ai_guess=True, responded_at=at(18, 13))
    PRSurveyReviewFactory(survey=survey3, reviewer=bob, quality_rating=None, ai_guess=True, responded_at=at(22, 8))
    # Bob answers on last week's PR this week (counts for his accuracy, not for Alice's quality).
    PRSurveyReviewFactory(survey=last_week_survey, reviewer=bob, quality_rating=1, ai_guess=True,
                          responded_at=at(16, 9))
    older_pr = PullRequestFactory(team=team, author=alice, merged_at=at(9))
    PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=older_pr, author_ai_assisted=True), reviewer=bob,
                          ai_guess=False, responded_at=at(15, 20))

    CommitFactory(team=team, author=alice, committed_at=at(16, 0))
    CommitFactory(team=team, author=alice, committed_at=at(20))
    CommitFactory(team=team, author=alice, committed_at=at(23, 0))

    rows = aggregate_team_weekly_metrics(team=team, week_start=WEEK)

    alice_row = {
        "member_id": alice.id,
        "week_start": WEEK,
        "prs_merged": 3,
        "avg_cycle_time_hours": Decimal("12.78"),
        "avg_review_time_hours": Decimal("3.75"),
        "commits_count": 2,
        "lines_added": 106,
        "lines_removed": 71,
        "revert_count": 1,
        "hotfix_count": 1,
        "ai_assisted_prs": 1,
        "avg_quality_rating": Decimal("2.67"),
        "surveys_completed": 2,
        "guess_accuracy": None,
    }
    bob_row = {**empty_row(bob.id), "guess_accuracy": Decimal("66.67")}
    assert rows == [alice_row, bob_row]
    assert stored(alice) == alice_row
    assert stored(bob) == bob_row
    assert WeeklyMetrics.objects.filter(team=team).count() == 2


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 11, 25), dt.date(2026, 11, 16)),  # Wednesday
        (dt.date(2026, 11, 23), dt.date(2026, 11, 16)),  # Monday: the week just finished
        (dt.date(2026, 11, 29), dt.date(2026, 11, 16)),  # Sunday
        (dt.date(2027, 1, 1), dt.date(2026, 12, 21)),  # across a year boundary
    ],
)
def test_previous_iso_week_start(today, expected):
    """The Monday of the week before the one containing `today`."""
    assert previous_iso_week_start(today) == expected
