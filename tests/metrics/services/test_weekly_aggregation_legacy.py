"""Weekly per-member aggregation (legacy reference implementation)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest, WeeklyMetrics
from apps.metrics.services import weekly_aggregation
from apps.metrics.services.weekly_aggregation import previous_iso_week_start
from apps.metrics.services.weekly_aggregation.legacy import aggregate_team_weekly_metrics
from shadow import pairs as registry
from tests.factories import (
    CommitFactory,
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
    WeeklyMetricsFactory,
)

UTC = dt.timezone.utc
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


def test_entry_point_is_the_pair_around_legacy():
    """The package entry point is the metrics.weekly_aggregation pair, with this function as its legacy side."""
    entry_point = weekly_aggregation.aggregate_team_weekly_metrics
    assert entry_point is registry.get("metrics.weekly_aggregation")
    assert entry_point.legacy is aggregate_team_weekly_metrics


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


@pytest.mark.django_db
def test_empty_team_returns_no_rows(team):
    """A team without members stores and returns nothing."""
    assert aggregate_team_weekly_metrics(team=team, week_start=WEEK) == []
    assert WeeklyMetrics.objects.count() == 0


@pytest.mark.django_db
def test_single_member_without_activity_gets_a_zero_row(team):
    """An active member with nothing in the week still gets a row: counts 0, averages and accuracy None."""
    member = TeamMemberFactory(team=team)
    assert aggregate_team_weekly_metrics(team=team, week_start=WEEK) == [empty_row(member.id)]
    assert stored(member) == empty_row(member.id)


@pytest.mark.django_db
def test_inactive_member_gets_no_row_and_their_old_row_is_kept(team):
    """Inactive members are skipped; a row stored for them earlier is neither updated nor deleted."""
    active = TeamMemberFactory(team=team)
    inactive = TeamMemberFactory(team=team, is_active=False)
    PullRequestFactory(team=team, author=inactive, merged_at=at(18))
    old_row = WeeklyMetricsFactory(team=team, member=inactive, week_start=WEEK, prs_merged=7)

    rows = aggregate_team_weekly_metrics(team=team, week_start=WEEK)

    assert [row["member_id"] for row in rows] == [active.id]
    old_row.refresh_from_db()
    assert old_row.prs_merged == 7
    assert WeeklyMetrics.objects.filter(team=team, week_start=WEEK).count() == 2


@pytest.mark.django_db
def test_member_with_merged_prs_but_no_surveys(team):
    """Without surveys: surveys_completed and ai_assisted_prs are 0 and avg_quality_rating is None."""
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=at(18), cycle_time_hours=Decimal("24.00"),
                       review_time_hours=Decimal("4.00"), additions=30, deletions=10, is_ai_assisted=True)

    [row] = aggregate_team_weekly_metrics(team=team, week_start=WEEK)

    assert row == {
        **empty_row(member.id),
        "prs_merged": 1,
        "avg_cycle_time_hours": Decimal("24.00"),
        "avg_review_time_hours": Decimal("4.00"),
        "lines_added": 30,
        "lines_removed": 10,
    }


@pytest.mark.django_db
def test_week_bounds_are_team_local_monday_midnights():
    """In Europe/Berlin (UTC+1 in November) the week is 2026-11-15 23:00 UTC (in) to 2026-11-22 23:00 UTC (out)."""
    team = TeamFactory(timezone="Europe/Berlin")
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 15, 22, 59, 59, tzinfo=UTC))
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 15, 23, 0, tzinfo=UTC))
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 22, 22, 59, 59, tzinfo=UTC))
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
    CommitFactory(team=team, author=member, committed_at=dt.datetime(2026, 11, 15, 23, 0, tzinfo=UTC))
    CommitFactory(team=team, author=member, committed_at=dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC))

    [row] = aggregate_team_weekly_metrics(team=team, week_start=WEEK)

    assert row["prs_merged"] == 2
    assert row["commits_count"] == 1


@pytest.mark.django_db
def test_rerun_updates_rows_in_place(team):
    """Running the same week again overwrites the member's row instead of adding a second one."""
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=at(17))
    aggregate_team_weekly_metrics(team=team, week_start=WEEK)
    PullRequestFactory(team=team, author=member, merged_at=at(18))

    [row] = aggregate_team_weekly_metrics(team=team, week_start=WEEK)

    assert row["prs_merged"] == 2
    assert WeeklyMetrics.objects.filter(member=member).count() == 1
    assert stored(member)["prs_merged"] == 2


@pytest.mark.django_db
def test_other_teams_data_is_never_counted(team, other_team):
    """Rows of another team, even ones wrongly pointing at this team's member, do not count; its members get no row."""
    member = TeamMemberFactory(team=team)
    foreign_member = TeamMemberFactory(team=other_team)
    PullRequestFactory(team=other_team, author=foreign_member, merged_at=at(18))
    foreign_pr = PullRequestFactory(team=other_team, author=member, merged_at=at(18))
    PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=foreign_pr), reviewer=member, responded_at=at(18))
    CommitFactory(team=other_team, author=member, committed_at=at(18))

    rows = aggregate_team_weekly_metrics(team=team, week_start=WEEK)

    assert rows == [empty_row(member.id)]
    assert WeeklyMetrics.objects.filter(team=other_team).count() == 0


@pytest.mark.django_db
def test_non_monday_raises(team):
    """A week_start that is not a Monday is rejected before anything is written."""
    TeamMemberFactory(team=team)
    with pytest.raises(ValueError, match=r"week_start must be a Monday, got 2026-11-18 \(Wednesday\)"):
        aggregate_team_weekly_metrics(team=team, week_start=dt.date(2026, 11, 18))
    assert WeeklyMetrics.objects.count() == 0


def _team_with_active_members(count: int):
    team = TeamFactory()
    for member in TeamMemberFactory.create_batch(count, team=team):
        PullRequestFactory(team=team, author=member, merged_at=at(18))
        CommitFactory(team=team, author=member, committed_at=at(18))
    TeamMemberFactory(team=team, is_active=False)
    return team


@pytest.mark.django_db
def test_query_count_grows_linearly_with_members(django_assert_num_queries):
    """The legacy shape: per active member five aggregates plus an update_or_create.

    First run (rows created): 3 members -> 36 queries, 9 members -> 102. That is
    3 fixed (savepoint, member list, release) + 11 per member (5 aggregates;
    savepoint, SELECT ... FOR UPDATE, savepoint, INSERT, two releases).
    """
    small, large = _team_with_active_members(3), _team_with_active_members(9)
    with django_assert_num_queries(36):
        aggregate_team_weekly_metrics(team=small, week_start=WEEK)
    with django_assert_num_queries(102):
        aggregate_team_weekly_metrics(team=large, week_start=WEEK)


@pytest.mark.django_db
def test_query_count_on_rerun(django_assert_num_queries):
    """Rerun (rows updated): 3 members -> 30 queries, 9 members -> 84.

    3 fixed + 9 per member (5 aggregates; savepoint, SELECT ... FOR UPDATE, UPDATE, release).
    """
    small, large = _team_with_active_members(3), _team_with_active_members(9)
    aggregate_team_weekly_metrics(team=small, week_start=WEEK)
    aggregate_team_weekly_metrics(team=large, week_start=WEEK)
    with django_assert_num_queries(30):
        aggregate_team_weekly_metrics(team=small, week_start=WEEK)
    with django_assert_num_queries(84):
        aggregate_team_weekly_metrics(team=large, week_start=WEEK)


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
