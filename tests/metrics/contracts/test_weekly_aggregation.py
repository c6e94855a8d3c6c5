"""Contract of the metrics.weekly_aggregation write pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must return, and store, exactly the rows written here.
The week used throughout is Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00
(start inclusive, end exclusive) in the team's time zone. Registration,
examples, demo-data agreement and query counts come from the shared
contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction

import shadow
from apps.metrics import tasks
from apps.metrics.models import PullRequest, WeeklyMetrics
from apps.metrics.services import weekly_aggregation
from apps.metrics.services.weekly_aggregation import legacy, optimized
from shadow import pairs as registry
from shadow.models import DailyEvidence, ShadowRecord
from shadow.testing import force_side
from tests.factories import (
    CommitFactory,
    PRSurveyFactory,
    PRSurveyReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
    WeeklyMetricsFactory,
)
from tests.support.commands import rollout
from tests.support.contracts import PairContract

PAIR = "metrics.weekly_aggregation"
UTC = dt.UTC
WEEK = dt.date(2026, 11, 16)  # a Monday


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def empty_row(member_id: int, week_start: dt.date = WEEK) -> dict:
    return {
        "member_id": member_id,
        "week_start": week_start,
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


def stored_rows(team, week_start: dt.date = WEEK) -> list[dict]:
    """The team's stored rows of the week in the shape the service returns, by member id."""
    return list(
        WeeklyMetrics.objects.filter(team=team, week_start=week_start)
        .order_by("member_id")
        .values("member_id", "week_start", *optimized.METRIC_FIELDS)
    )


def guess(team, reviewer, *, responded_at: dt.datetime, correct: bool = True, quality: int | None = None):
    """A survey review by `reviewer` with a scored guess, on a PR of an inactive member (who gets no row)."""
    author = TeamMemberFactory(team=team, is_active=False)
    survey = PRSurveyFactory(pull_request=PullRequestFactory(team=team, author=author), author_ai_assisted=True)
    return PRSurveyReviewFactory(
        survey=survey, reviewer=reviewer, ai_guess=correct, quality_rating=quality, responded_at=responded_at
    )


def active_members_with_activity(team, count: int) -> None:
    """`count` active members, each with a surveyed merged PR, a review and guess on it, and a commit; one inactive."""
    members = TeamMemberFactory.create_batch(count, team=team)
    for position, member in enumerate(members):
        survey = PRSurveyFactory(pull_request=PullRequestFactory(team=team, author=member, merged_at=at(18)))
        PRSurveyReviewFactory(survey=survey, reviewer=members[position - 1], quality_rating=3, responded_at=at(19))
        CommitFactory(team=team, author=member, committed_at=at(18))
    TeamMemberFactory(team=team, is_active=False)


def weekly_table() -> list[dict]:
    """Every WeeklyMetrics row of every team, without ids and timestamps."""
    return list(
        WeeklyMetrics.objects.order_by("team_id", "member_id", "week_start").values(
            "team_id", "member_id", "week_start", *optimized.METRIC_FIELDS
        )
    )


class TestWeeklyAggregationContract(PairContract):
    pair_name = PAIR
    entry_point = weekly_aggregation.aggregate_team_weekly_metrics
    sides = (legacy.aggregate_team_weekly_metrics, optimized.aggregate_team_weekly_metrics)
    signature = "(*, team: 'Team', week_start: 'dt.date') -> 'list[dict[str, Any]]'"

    # On seeded demo data (UTC and Berlin teams, null authors, inactive members, bots) both sides write the
    # same rows. Rows are new here (insert path).
    demo_cases = {
        # The last, partial week (history ends on Friday 2026-11-20).
        "last-partial-week": {"week_start": dt.date(2026, 11, 16)},
        "full-week": {"week_start": dt.date(2026, 11, 9)},
        # The first, partial week (history starts on 2026-10-22).
        "first-partial-week": {"week_start": dt.date(2026, 10, 19)},
        # After the history: zero rows for everyone.
        "after-the-history": {"week_start": dt.date(2026, 12, 7)},
    }

    # Optimized: 6 queries at any team size, first run and rerun alike: savepoint, members with their
    # commit and guess counts, PR and survey aggregates by author, quality by PR author, one
    # INSERT … ON CONFLICT DO UPDATE, release.
    # Legacy (the "before"): 3 + 11 per active member when rows are created, 3 + 9 per member when they
    # are updated.
    call_kwargs = {"week_start": WEEK}
    queries = {"legacy": {3: 36, 30: 333}, "optimized": {3: 6, 30: 6}}
    rerun_queries = {"legacy": {3: 30, 30: 273}, "optimized": {3: 6, 30: 6}}

    def build(self, team, size):
        active_members_with_activity(team, size)

    def check_measured_results(self, team, size, results):
        """One row per active member, returned by both runs and stored once."""
        created, updated = results
        assert len(created) == len(updated) == WeeklyMetrics.objects.filter(team=team).count() == size

    def check_demo_comparisons(self, comparisons):
        """The optimized side takes 6 queries; legacy 3 + 11 per active member, 2 fewer for each of the two rows
        seed_demo stores ahead for the week before its last (updating a row costs 2 queries less than creating it)."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [6, 6]
        for comparison in comparisons:
            new_rows = 3 + 11 * len(comparison.legacy.value)
            assert comparison.legacy.measurement.queries in (new_rows, new_rows - 2 * 2)

    # --- registration ----------------------------------------------------------------

    def test_registered_as_a_write_pair_with_a_snapshot(self):
        """The weekly task calls the pair too; it writes, and its snapshot takes the same arguments."""
        pair = registry.get(PAIR)

        assert tasks.aggregate_team_weekly_metrics is pair
        assert (pair.writes, pair.snapshot, pair.rules.ignore) == (True, weekly_aggregation.stored_weekly_metrics, ())
        assert list(inspect.signature(pair.snapshot).parameters) == ["team", "week_start"]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("timezone", "weeks"),
        [
            # 2026-11-22 23:30 UTC is still Sunday in UTC: the week of the 16th is not finished yet.
            ("UTC", [dt.date(2026, 11, 9), dt.date(2026, 11, 2), dt.date(2026, 10, 26), dt.date(2026, 10, 19)]),
            # ...but it is Monday 00:30 in Berlin, so that week is the latest completed one there.
            ("Europe/Berlin", [dt.date(2026, 11, 16), dt.date(2026, 11, 9), dt.date(2026, 11, 2), dt.date(2026, 10, 26)]),
        ],
    )
    def test_examples_are_the_last_four_completed_weeks_in_the_team_timezone(self, timezone, weeks):
        """`rollout verify` compares the four weeks before the team's current local week, newest first."""
        team = TeamFactory(timezone=timezone)

        with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC)):
            examples = registry.get(PAIR).examples(team)

        assert examples == [{"week_start": week} for week in weeks]

    @pytest.mark.django_db
    def test_snapshot_reads_back_the_weeks_rows_without_ids_or_timestamps(self, team, other_team):
        """The snapshot: every stored row of the team and week (inactive members' too), by member id, metric fields only."""
        first = TeamMemberFactory(team=team, is_active=False)
        second = TeamMemberFactory(team=team)
        WeeklyMetricsFactory(team=team, member=second, week_start=WEEK, prs_merged=2, guess_accuracy=Decimal("50.00"))
        WeeklyMetricsFactory(team=team, member=first, week_start=WEEK, commits_count=4)
        WeeklyMetricsFactory(team=team, member=second, week_start=dt.date(2026, 11, 9), prs_merged=7)
        WeeklyMetricsFactory(team=other_team, week_start=WEEK, prs_merged=9)

        assert weekly_aggregation.stored_weekly_metrics(team=team, week_start=WEEK) == [
            {**empty_row(first.id), "commits_count": 4},
            {**empty_row(second.id), "prs_merged": 2, "guess_accuracy": Decimal("50.00")},
        ]

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_every_field_from_a_hand_built_week(self, team, other_team, side):
        """PR aggregates, commits, surveys, quality and guesses add up to the numbers worked out by hand.

        Alice merges three PRs in the week (cycle 10, 25, 3.33 h; review 2, 5.5,
        none; one revert, one hotfix); their surveys say AI yes, AI no, unanswered;
        ratings 3, 3, 2 and one review without rating. Bob guessed right on two
        PRs and wrong on one within the week (one of them a PR without author);
        his guess of the week before and his guess on an unanswered survey do not
        count. Dan did nothing. Carol is inactive. Nothing of another team counts.
        """
        alice = TeamMemberFactory(team=team, display_name="Alice")
        bob = TeamMemberFactory(team=team, display_name="Bob")
        carol = TeamMemberFactory(team=team, display_name="Carol", is_active=False)
        dan = TeamMemberFactory(team=team, display_name="Dan")

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
        # Not merged in the week: merged the Sunday before, still open, closed.
        PullRequestFactory(team=team, author=alice, merged_at=at(15, 23, 59), is_revert=True)
        PullRequestFactory(team=team, author=alice, state=PullRequest.State.OPEN, merged_at=None, pr_created_at=at(17))
        PullRequestFactory(team=team, author=alice, state=PullRequest.State.CLOSED, merged_at=at(19), is_hotfix=True)
        # No author: counted for nobody, but Bob's guess on it is his.
        authorless = PRSurveyFactory(
            pull_request=PullRequestFactory(team=team, author=None, merged_at=at(18)), author_ai_assisted=True
        )

        survey1 = PRSurveyFactory(pull_request=pr1, author_ai_assisted=True)
        survey2 = PRSurveyFactory(pull_request=pr2, author_ai_assisted=False)
        survey3 = PRSurveyFactory(pull_request=pr3, author_ai_assisted=None)
        PRSurveyReviewFactory(survey=survey1, reviewer=bob, quality_rating=3, ai_guess=True, responded_at=at(17, 11))
        PRSurveyReviewFactory(survey=survey1, reviewer=carol, quality_rating=3, ai_guess=False, responded_at=at(17, 12))
        PRSurveyReviewFactory(survey=survey2, reviewer=bob, quality_rating=2, ai_guess=True, responded_at=at(18, 13))
        PRSurveyReviewFactory(survey=survey2, reviewer=dan, quality_rating=None, ai_guess=None, responded_at=None)
        PRSurveyReviewFactory(survey=survey3, reviewer=bob, quality_rating=None, ai_guess=True, responded_at=at(22, 8))
        PRSurveyReviewFactory(survey=authorless, reviewer=bob, quality_rating=1, ai_guess=True, responded_at=at(19))
        guess(team, bob, responded_at=at(15, 20), correct=False)

        CommitFactory(team=team, author=alice, committed_at=at(16, 0))
        CommitFactory(team=team, author=alice, committed_at=at(20))
        CommitFactory(team=team, author=alice, committed_at=at(23, 0))
        CommitFactory(team=team, author=bob, committed_at=at(19))
        CommitFactory(team=team, author=None, committed_at=at(19))

        # Another team's rows pointing at this team's members.
        foreign_pr = PullRequestFactory(team=other_team, author=alice, merged_at=at(18))
        PRSurveyReviewFactory(survey=PRSurveyFactory(pull_request=foreign_pr), reviewer=bob, responded_at=at(18))
        CommitFactory(team=other_team, author=alice, committed_at=at(18))

        rows = side(team=team, week_start=WEEK)

        expected = [
            {
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
            },
            {**empty_row(bob.id), "commits_count": 1, "guess_accuracy": Decimal("66.67")},
            empty_row(dan.id),
        ]
        assert rows == expected
        assert stored_rows(team) == expected
        assert WeeklyMetrics.objects.filter(team=other_team).count() == 0

    @pytest.mark.django_db
    def test_value_types(self, team, side):
        """Counts are ints, averages and accuracy Decimals with two places, missing averages None, week_start a date."""
        member = TeamMemberFactory(team=team)
        idle = TeamMemberFactory(team=team)
        survey = PRSurveyFactory(
            pull_request=PullRequestFactory(team=team, author=member, merged_at=at(18), cycle_time_hours=Decimal("7"))
        )
        PRSurveyReviewFactory(survey=survey, reviewer=idle, quality_rating=3, ai_guess=True, responded_at=at(19))

        rows = side(team=team, week_start=WEEK)

        assert [{key: type(value).__name__ for key, value in row.items()} for row in rows] == [
            {
                "member_id": "int",
                "week_start": "date",
                "prs_merged": "int",
                "avg_cycle_time_hours": "Decimal",
                "avg_review_time_hours": "Decimal",
                "commits_count": "int",
                "lines_added": "int",
                "lines_removed": "int",
                "revert_count": "int",
                "hotfix_count": "int",
                "ai_assisted_prs": "int",
                "avg_quality_rating": "Decimal",
                "surveys_completed": "int",
                "guess_accuracy": "NoneType",
            },
            {
                "member_id": "int",
                "week_start": "date",
                "prs_merged": "int",
                "avg_cycle_time_hours": "NoneType",
                "avg_review_time_hours": "NoneType",
                "commits_count": "int",
                "lines_added": "int",
                "lines_removed": "int",
                "revert_count": "int",
                "hotfix_count": "int",
                "ai_assisted_prs": "int",
                "avg_quality_rating": "NoneType",
                "surveys_completed": "int",
                "guess_accuracy": "Decimal",
            },
        ]
        assert [
            (str(row["avg_cycle_time_hours"]), str(row["avg_quality_rating"]), str(row["guess_accuracy"])) for row in rows
        ] == [("7.00", "3.00", "None"), ("None", "None", "100.00")]

    @pytest.mark.django_db
    def test_empty_team_returns_and_stores_nothing(self, team, side):
        """A team without members: no rows."""
        assert side(team=team, week_start=WEEK) == []
        assert WeeklyMetrics.objects.count() == 0

    @pytest.mark.django_db
    def test_team_of_inactive_members_only_returns_nothing(self, team, side):
        """Inactive members get no row even when they merged PRs that week."""
        PullRequestFactory(team=team, author=TeamMemberFactory(team=team, is_active=False), merged_at=at(18))

        assert side(team=team, week_start=WEEK) == []
        assert WeeklyMetrics.objects.count() == 0

    @pytest.mark.django_db
    def test_single_member_without_activity_gets_a_zero_row(self, team, side):
        """An active member with nothing in the week gets counts 0, averages and accuracy None."""
        member = TeamMemberFactory(team=team)

        assert side(team=team, week_start=WEEK) == [empty_row(member.id)]
        assert stored_rows(team) == [empty_row(member.id)]

    @pytest.mark.django_db
    def test_inactive_member_is_skipped_and_their_old_row_kept(self, team, side):
        """An inactive member's row stored earlier is neither updated nor deleted; their guesses count for nobody."""
        active = TeamMemberFactory(team=team)
        inactive = TeamMemberFactory(team=team, is_active=False)
        PullRequestFactory(team=team, author=inactive, merged_at=at(18))
        guess(team, inactive, responded_at=at(18))
        WeeklyMetricsFactory(team=team, member=inactive, week_start=WEEK, prs_merged=7)

        rows = side(team=team, week_start=WEEK)

        assert rows == [empty_row(active.id)]
        assert stored_rows(team) == [empty_row(active.id), {**empty_row(inactive.id), "prs_merged": 7}]

    @pytest.mark.django_db
    def test_member_with_merged_prs_but_no_surveys(self, team, side):
        """Without surveys: surveys_completed and ai_assisted_prs are 0 and avg_quality_rating is None."""
        member = TeamMemberFactory(team=team)
        PullRequestFactory(team=team, author=member, merged_at=at(18), cycle_time_hours=Decimal("24.00"),
                           review_time_hours=Decimal("4.00"), additions=30, deletions=10, is_ai_assisted=True)

        assert side(team=team, week_start=WEEK) == [
            {
                **empty_row(member.id),
                "prs_merged": 1,
                "avg_cycle_time_hours": Decimal("24.00"),
                "avg_review_time_hours": Decimal("4.00"),
                "lines_added": 30,
                "lines_removed": 10,
            }
        ]

    @pytest.mark.django_db
    def test_surveys_are_credited_to_the_prs_author(self, team, side):
        """A survey whose own author field names someone else still counts for the PR's author (legacy's rule)."""
        author = TeamMemberFactory(team=team)
        someone_else = TeamMemberFactory(team=team)
        PRSurveyFactory(
            pull_request=PullRequestFactory(team=team, author=author, merged_at=at(18)),
            author=someone_else,
            author_ai_assisted=True,
        )

        rows = side(team=team, week_start=WEEK)

        assert [(row["member_id"], row["surveys_completed"], row["ai_assisted_prs"]) for row in rows] == [
            (author.id, 1, 1),
            (someone_else.id, 0, 0),
        ]

    @pytest.mark.django_db
    def test_averages_and_accuracy_round_half_up(self, team, side):
        """1.005 h rounds to 1.01 and 0.005 h to 0.01 (exact decimals); 1 correct guess of 6 is 16.67 %."""
        author = TeamMemberFactory(team=team)
        reviewer = TeamMemberFactory(team=team)
        PullRequestFactory(team=team, author=author, merged_at=at(17), cycle_time_hours=Decimal("1.00"),
                           review_time_hours=Decimal("0.00"))
        PullRequestFactory(team=team, author=author, merged_at=at(18), cycle_time_hours=Decimal("1.01"),
                           review_time_hours=Decimal("0.01"))
        guess(team, reviewer, responded_at=at(17), correct=True)
        for _ in range(5):
            guess(team, reviewer, responded_at=at(18), correct=False)

        rows = side(team=team, week_start=WEEK)

        assert [
            (row["avg_cycle_time_hours"], row["avg_review_time_hours"], row["guess_accuracy"]) for row in rows
        ] == [(Decimal("1.01"), Decimal("0.01"), None), (None, None, Decimal("16.67"))]

    @pytest.mark.django_db
    def test_quality_average_keeps_legacys_float_rounding(self, team, side):
        """107 over 40 ratings is exactly 2.675, yet both sides store 2.67: legacy rounds Django's float average.

        Kept identical on purpose (see the pair's notes): a switch to exact decimal
        rounding would change stored numbers, and must be its own decision.
        """
        author = TeamMemberFactory(team=team)
        # Inactive reviewers: they get no rows, so the author's row is the only one.
        reviewers = TeamMemberFactory.create_batch(8, team=team, is_active=False)
        ratings = [3] * 27 + [2] * 13
        surveys = [
            PRSurveyFactory(pull_request=PullRequestFactory(team=team, author=author, merged_at=at(18)))
            for _ in range(5)
        ]
        for position, rating in enumerate(ratings):
            PRSurveyReviewFactory(
                survey=surveys[position // 8], reviewer=reviewers[position % 8], quality_rating=rating, responded_at=at(19)
            )

        rows = side(team=team, week_start=WEEK)

        assert [(row["member_id"], row["avg_quality_rating"]) for row in rows] == [(author.id, Decimal("2.67"))]

    @pytest.mark.django_db
    def test_unrated_reviews_and_unscored_guesses_are_left_out(self, team, side):
        """Reviews without rating are not averaged in; guesses on unanswered surveys are not scored."""
        author = TeamMemberFactory(team=team)
        reviewer = TeamMemberFactory(team=team)
        answered = PRSurveyFactory(pull_request=PullRequestFactory(team=team, author=author, merged_at=at(17)))
        unanswered = PRSurveyFactory(
            pull_request=PullRequestFactory(team=team, author=author, merged_at=at(18)), author_ai_assisted=None
        )
        PRSurveyReviewFactory(survey=answered, reviewer=reviewer, quality_rating=1, ai_guess=False, responded_at=at(18))
        PRSurveyReviewFactory(survey=unanswered, reviewer=reviewer, quality_rating=None, ai_guess=True,
                              responded_at=at(18))

        rows = side(team=team, week_start=WEEK)

        assert [
            (row["surveys_completed"], row["ai_assisted_prs"], row["avg_quality_rating"], row["guess_accuracy"])
            for row in rows
        ] == [(1, 1, Decimal("1.00"), None), (0, 0, None, Decimal("0.00"))]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("timezone", "week_starts_at", "next_week_starts_at"),
        [
            ("UTC", dt.datetime(2026, 11, 16, 0, 0, tzinfo=UTC), dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
            # UTC+1 in November.
            ("Europe/Berlin", dt.datetime(2026, 11, 15, 23, 0, tzinfo=UTC), dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC)),
            # UTC-8 in November.
            (
                "America/Los_Angeles",
                dt.datetime(2026, 11, 16, 8, 0, tzinfo=UTC),
                dt.datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
            ),
        ],
    )
    def test_week_bounds_are_team_local_monday_midnights(self, side, timezone, week_starts_at, next_week_starts_at):
        """Monday 00:00 local belongs to the week, the next Monday 00:00 local to the next; for PRs, commits and guesses.

        In: the first and the last microsecond of the week (a right and a wrong
        guess, 50 %). Out: the microsecond before and the next Monday's first
        instant (both right guesses, which would move the accuracy).
        """
        team = TeamFactory(timezone=timezone)
        member = TeamMemberFactory(team=team)
        tick = dt.timedelta(microseconds=1)
        inside = [week_starts_at, next_week_starts_at - tick]
        outside = [week_starts_at - tick, next_week_starts_at]
        for moment in inside + outside:
            PullRequestFactory(team=team, author=member, merged_at=moment)
            CommitFactory(team=team, author=member, committed_at=moment)
        guess(team, member, responded_at=inside[0], correct=True)
        guess(team, member, responded_at=inside[1], correct=False)
        guess(team, member, responded_at=outside[0], correct=True)
        guess(team, member, responded_at=outside[1], correct=True)

        [row] = side(team=team, week_start=WEEK)

        assert (row["prs_merged"], row["commits_count"], row["guess_accuracy"]) == (2, 2, Decimal("50.00"))

    @pytest.mark.django_db
    def test_rerun_updates_the_rows_in_place(self, team, side):
        """A second run of the week rewrites each member's row (same id and created_at), also back to zeros and None."""
        member = TeamMemberFactory(team=team)
        pr = PullRequestFactory(team=team, author=member, merged_at=at(17), cycle_time_hours=Decimal("5.00"))
        guess(team, member, responded_at=at(18))
        side(team=team, week_start=WEEK)
        before = WeeklyMetrics.objects.get(team=team, member=member, week_start=WEEK)
        PullRequest.objects.filter(pk=pr.pk).update(state=PullRequest.State.CLOSED)
        CommitFactory(team=team, author=member, committed_at=at(19))

        rows = side(team=team, week_start=WEEK)

        expected = {**empty_row(member.id), "commits_count": 1, "guess_accuracy": Decimal("100.00")}
        assert rows == [expected]
        assert stored_rows(team) == [expected]
        after = WeeklyMetrics.objects.get(team=team, member=member, week_start=WEEK)
        assert (after.pk, after.created_at) == (before.pk, before.created_at)
        assert after.updated_at >= before.updated_at

    @pytest.mark.django_db
    def test_other_weeks_rows_are_untouched(self, team, side):
        """Only rows of the given week are written; the member's row of the week before stays as it was."""
        member = TeamMemberFactory(team=team)
        WeeklyMetricsFactory(team=team, member=member, week_start=dt.date(2026, 11, 9), prs_merged=4)

        side(team=team, week_start=WEEK)

        assert stored_rows(team, dt.date(2026, 11, 9)) == [{**empty_row(member.id, dt.date(2026, 11, 9)), "prs_merged": 4}]
        assert stored_rows(team) == [empty_row(member.id)]

    @pytest.mark.django_db
    def test_duplicate_logins_across_teams_stay_apart(self, team, other_team, side):
        """Another team's member with the same login keeps their numbers and row; only this team's rows are written."""
        ours = TeamMemberFactory(team=team, github_username="octocat")
        theirs = TeamMemberFactory(team=other_team, github_username="octocat")
        PullRequestFactory(team=team, author=ours, merged_at=at(18))
        PullRequestFactory(team=other_team, author=theirs, merged_at=at(18))
        PullRequestFactory(team=other_team, author=theirs, merged_at=at(19))
        WeeklyMetricsFactory(team=other_team, member=theirs, week_start=WEEK, prs_merged=9)

        rows = side(team=team, week_start=WEEK)

        assert [(row["member_id"], row["prs_merged"]) for row in rows] == [(ours.id, 1)]
        assert stored_rows(other_team) == [{**empty_row(theirs.id), "prs_merged": 9}]

    @pytest.mark.django_db
    def test_non_monday_is_rejected_before_any_query(self, team, side, django_assert_num_queries):
        """A week_start that is not a Monday raises ValueError without touching the database."""
        TeamMemberFactory(team=team)

        with (
            django_assert_num_queries(0),
            pytest.raises(ValueError, match=r"week_start must be a Monday, got 2026-11-18 \(Wednesday\)"),
        ):
            side(team=team, week_start=dt.date(2026, 11, 18))
        assert WeeklyMetrics.objects.count() == 0

    # --- query budgets beyond the two sizes -------------------------------------------------

    @pytest.mark.django_db
    def test_optimized_query_count_without_active_members(self, team, django_assert_num_queries):
        """No active member: savepoint, the member list, release; nothing to side or write."""
        TeamMemberFactory(team=team, is_active=False)

        with django_assert_num_queries(3):
            assert optimized.aggregate_team_weekly_metrics(team=team, week_start=WEEK) == []

    # --- the shadow runner ------------------------------------------------------------------

    @pytest.mark.django_db
    @pytest.mark.parametrize("served", ["legacy", "optimized"])
    def test_a_sampled_run_leaves_exactly_the_rows_of_an_unshadowed_run(self, settings, team, other_team, served):
        """Whichever side serves, a sampled call (other side first, rolled back) leaves the table of an unshadowed call.

        The data covers the insert path (bob, no row yet) and the update path
        (alice's stale row), an inactive member's old row and another team's row.
        """
        alice = TeamMemberFactory(team=team)
        bob = TeamMemberFactory(team=team)
        gone = TeamMemberFactory(team=team, is_active=False)
        survey = PRSurveyFactory(pull_request=PullRequestFactory(team=team, author=alice, merged_at=at(18)))
        PRSurveyReviewFactory(survey=survey, reviewer=bob, quality_rating=2, ai_guess=True, responded_at=at(19))
        CommitFactory(team=team, author=bob, committed_at=at(20))
        WeeklyMetricsFactory(team=team, member=alice, week_start=WEEK, prs_merged=5, commits_count=5)
        WeeklyMetricsFactory(team=team, member=gone, week_start=WEEK, prs_merged=3)
        foreign = WeeklyMetricsFactory(team=other_team, week_start=WEEK, prs_merged=9)

        settings.SHADOW_DEFAULT_RATE = 0
        with force_side(PAIR, served):
            with transaction.atomic():
                unshadowed_result = weekly_aggregation.aggregate_team_weekly_metrics(team=team, week_start=WEEK)
                unshadowed = weekly_table()
                transaction.set_rollback(True)
            settings.SHADOW_DEFAULT_RATE = 1
            shadowed_result = weekly_aggregation.aggregate_team_weekly_metrics(team=team, week_start=WEEK)

        assert weekly_table() == unshadowed
        assert shadowed_result == unshadowed_result
        assert [
            (row["team_id"], row["member_id"], row["prs_merged"], row["commits_count"], row["guess_accuracy"])
            for row in unshadowed
        ] == [
            (team.id, alice.id, 1, 0, None),
            (team.id, bob.id, 0, 1, Decimal("100.00")),
            (team.id, gone.id, 3, 0, None),
            (other_team.id, foreign.member_id, 9, 0, None),
        ]
        evidence = DailyEvidence.objects.get(pair_name=PAIR, team=team)
        assert (evidence.runs, evidence.matches, evidence.mismatches, evidence.errors) == (1, 1, 0, 0)
        assert ShadowRecord.objects.count() == 0

    # --- demo data --------------------------------------------------------------------------

    @pytest.mark.django_db
    def test_shadow_comparison_matches_on_demo_data_when_rows_exist(self, demo_teams):
        """After a real legacy run of the week, both sides update the rows in place (update path) identically."""
        for team in demo_teams:
            legacy.aggregate_team_weekly_metrics(team=team, week_start=dt.date(2026, 11, 9))

        comparisons = [shadow.compare(PAIR, team=team, week_start=dt.date(2026, 11, 9)) for team in demo_teams]

        assert [(comparison.outcome, comparison.diff) for comparison in comparisons] == [("match", []), ("match", [])]
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [6, 6]

    @pytest.mark.django_db
    def test_demo_data_gives_numbers_to_compare(self, demo_teams):
        """Guard for the demo comparisons: in a full week each demo team has merged PRs, commits, surveys and guesses."""
        rows = [optimized.aggregate_team_weekly_metrics(team=team, week_start=dt.date(2026, 11, 9)) for team in demo_teams]

        assert [
            (
                sum(row["prs_merged"] for row in team_rows) > 10,
                sum(row["commits_count"] for row in team_rows) > 10,
                sum(row["surveys_completed"] for row in team_rows) > 0,
                sum(row["avg_quality_rating"] is not None for row in team_rows) > 0,
                sum(row["guess_accuracy"] is not None for row in team_rows) > 0,
            )
            for team_rows in rows
        ] == [(True, True, True, True, True)] * 2

    @pytest.mark.django_db
    def test_rollout_verify_runs_the_examples_on_demo_data(self, demo_teams):
        """`rollout verify` compares the four completed weeks before 2026-11-24 on demo-1: all match."""
        with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)):
            output = rollout("verify", PAIR, "--team", "demo-1", "--runs", "1")

        assert "4 of 4 comparisons matched (0 mismatched, 0 errors, 0 timeouts)" in output.splitlines()
