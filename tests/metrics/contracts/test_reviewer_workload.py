"""Contract of the metrics.reviewer_workload pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the rows written here. The range used
throughout is Monday 2026-11-16 to Sunday 2026-11-22, both inclusive, in the
team's time zone. Registration, examples, demo-data agreement and query counts
come from the shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.metrics.models import PRReview, PullRequest, TeamMember
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from shadow import pairs as registry
from tests.factories import PRReviewFactory, PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.contracts import PairContract

PAIR = "metrics.reviewer_workload"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
IN_RANGE = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def reviews(pr: PullRequest, reviewer, count: int, *, submitted_at=IN_RANGE, **kwargs) -> None:
    for _ in range(count):
        PRReviewFactory(pull_request=pr, reviewer=reviewer, submitted_at=submitted_at, **kwargs)


def reviewers_with_reviews(team, reviewers: int) -> None:
    """`reviewers` members, each with two reviews in range on one PR."""
    pr = PullRequestFactory(team=team)
    for _ in range(reviewers):
        reviews(pr, TeamMemberFactory(team=team), 2)


def counts(rows) -> list[tuple]:
    return [(row["member_id"], row["reviews"], row["workload"]) for row in rows]


class TestReviewerWorkloadContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_reviewer_workload
    sides = (legacy.get_reviewer_workload, optimized.get_reviewer_workload)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'list[dict]'"

    # On seeded demo data (UTC and Berlin teams, bot reviews without a reviewer, inactive members) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20)},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31)},
    }

    # Optimized: one grouped query, whatever the number of reviewers. Legacy (the "before"): 1 query for the
    # reviewers, then 2 per reviewer.
    call_kwargs = {"start_date": START, "end_date": END}
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {5: 11, 50: 101}, "optimized": {5: 2, 50: 2}}
    rerun_queries = {"legacy": {5: 11, 50: 101}, "optimized": {5: 1, 50: 1}}

    def build(self, team, size):
        reviewers_with_reviews(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: One row per reviewer, each with its two reviews."""
        assert [[row["reviews"] for row in rows] for rows in results] == [[2] * size] * 2

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses one query where legacy uses 1 + 2 per reviewer."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [1, 1]
        assert [
            comparison.legacy.measurement.queries == 1 + 2 * len(comparison.legacy.value) for comparison in comparisons
        ] == [True, True]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="Europe/Berlin"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_rows_on_hand_built_data(self, team, other_team, side):
        """Mean 12 ÷ 4 = 3: above 4.5 is high, below 1.5 low; sorted by reviews desc; nothing else counts."""
        pr = PullRequestFactory(team=team)
        dora = TeamMemberFactory(team=team, display_name="Dora", is_active=False)
        carla = TeamMemberFactory(team=team, display_name="Carla")
        bruno = TeamMemberFactory(team=team, display_name="Bruno")
        ana = TeamMemberFactory(team=team, display_name="Ana")
        reviews(pr, ana, 6, state=PRReview.State.CHANGES_REQUESTED)
        reviews(pr, bruno, 3, state=PRReview.State.COMMENTED)
        reviews(pr, carla, 1)
        # An inactive member's reviews count like anyone's, on a PR not merged yet too.
        reviews(pr, dora, 1)
        reviews(PullRequestFactory(team=team, state=PullRequest.State.OPEN, merged_at=None), dora, 1)
        # None of these count: bots without a member, outside the range, another team.
        reviews(pr, None, 5, is_ai_review=True, ai_reviewer_type="copilot")
        reviews(pr, carla, 5, submitted_at=dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
        reviews(pr, carla, 5, submitted_at=dt.datetime(2026, 11, 15, 23, 59, 59, tzinfo=UTC))
        reviews(PullRequestFactory(team=other_team), TeamMemberFactory(team=other_team, display_name="Aaron"), 40)

        rows = side(team=team, start_date=START, end_date=END)

        assert rows == [
            {"member_id": ana.pk, "member_name": "Ana", "reviews": 6, "workload": "high"},
            {"member_id": bruno.pk, "member_name": "Bruno", "reviews": 3, "workload": "normal"},
            {"member_id": dora.pk, "member_name": "Dora", "reviews": 2, "workload": "normal"},
            {"member_id": carla.pk, "member_name": "Carla", "reviews": 1, "workload": "low"},
        ]

    @pytest.mark.django_db
    def test_value_types(self, team, side):
        """Ids and counts are ints, names and workloads strings."""
        reviews(PullRequestFactory(team=team), TeamMemberFactory(team=team, display_name="Solo"), 2)

        rows = side(team=team, start_date=START, end_date=END)

        assert [tuple(type(value) for value in row.values()) for row in rows] == [(int, str, int, str)]

    @pytest.mark.django_db
    def test_reviews_on_prs_in_any_state_count(self, team, side):
        """Open, closed and merged PRs (merged inside or outside the range): only the review's time matters."""
        member = TeamMemberFactory(team=team)
        reviews(PullRequestFactory(team=team, state=PullRequest.State.OPEN, merged_at=None), member, 1)
        reviews(PullRequestFactory(team=team, state=PullRequest.State.CLOSED, merged_at=None), member, 1)
        reviews(PullRequestFactory(team=team, merged_at=dt.datetime(2026, 12, 1, tzinfo=UTC)), member, 1)

        rows = side(team=team, start_date=START, end_date=END)

        assert counts(rows) == [(member.pk, 3, "normal")]

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """No reviews: no rows."""
        TeamMemberFactory(team=team)

        assert side(team=team, start_date=START, end_date=END) == []

    @pytest.mark.django_db
    def test_only_reviews_without_reviewer(self, team, side):
        """Bot reviews (no reviewer) never make a row, even when they are all there is."""
        reviews(PullRequestFactory(team=team), None, 3, is_ai_review=True)

        assert side(team=team, start_date=START, end_date=END) == []

    @pytest.mark.django_db
    def test_single_reviewer_is_normal(self, team, side):
        """A lone reviewer is the mean, so normal however many reviews."""
        member = TeamMemberFactory(team=team, display_name="Solo")
        reviews(PullRequestFactory(team=team), member, 7)

        assert side(team=team, start_date=START, end_date=END) == [
            {"member_id": member.pk, "member_name": "Solo", "reviews": 7, "workload": "normal"}
        ]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("review_counts", "workloads"),
        [
            # Mean 2: exactly 3 (1.5 × mean) and exactly 1 (0.5 × mean) are normal.
            ((3, 2, 1), ("normal", "normal", "normal")),
            # Mean 2.5: 4 is above 3.75, 1 below 1.25; 3 and 2 in between.
            ((4, 3, 2, 1), ("high", "normal", "normal", "low")),
            # Mean 8 / 3: high above exactly 4, low below exactly 4 / 3; 4 is normal, 1 low.
            ((4, 3, 1), ("normal", "normal", "low")),
            # Mean 5 / 3: 3 is above 2.5; 1 is above 5 / 6.
            ((3, 1, 1), ("high", "normal", "normal")),
            # Mean 13 / 4: 5 is above 4.875 by 1 / 8, 1 below 1.625.
            ((5, 5, 2, 1), ("high", "high", "normal", "low")),
        ],
    )
    def test_workload_thresholds_are_exact(self, team, side, review_counts, workloads):
        """Counts are compared with 1.5 × and 0.5 × the mean exactly: a count equal to a threshold is normal."""
        pr = PullRequestFactory(team=team)
        members = [TeamMemberFactory(team=team, display_name=f"M{position}") for position in range(len(review_counts))]
        for member, count in zip(members, review_counts):
            reviews(pr, member, count)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["reviews"], row["workload"]) for row in rows] == list(zip(review_counts, workloads))

    @pytest.mark.django_db
    def test_ties_sort_by_name_in_codepoint_order_then_id(self, team, side):
        """Equal counts sort by name (upper case, lower case, accented, CJK), then member id; ids made out of order."""
        zhang = TeamMemberFactory(team=team, display_name="张伟")
        sam_2 = TeamMemberFactory(team=team, display_name="Sam")
        lower = TeamMemberFactory(team=team, display_name="ana")
        sam_1 = TeamMemberFactory(team=team, display_name="Sam")
        emilie = TeamMemberFactory(team=team, display_name="Émilie")
        nameless = TeamMemberFactory(team=team, display_name="")
        busy = TeamMemberFactory(team=team, display_name="Zoe")
        pr = PullRequestFactory(team=team)
        for member in (zhang, sam_1, sam_2, emilie, lower, nameless):
            reviews(pr, member, 2)
        reviews(pr, busy, 3)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["member_name"]) for row in rows] == [
            (busy.pk, "Zoe"),
            (nameless.pk, ""),
            (sam_2.pk, "Sam"),
            (sam_1.pk, "Sam"),
            (lower.pk, "ana"),
            (emilie.pk, "Émilie"),
            (zhang.pk, "张伟"),
        ]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("start", "end", "first_in", "after_end"),
        [
            # Berlin in November is UTC+1: local midnight is 23:00 UTC the day before.
            (
                dt.date(2026, 11, 16),
                dt.date(2026, 11, 22),
                dt.datetime(2026, 11, 15, 23, 0, tzinfo=UTC),
                dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
            ),
            # The range spans the end of summer time (2026-10-25): it starts at UTC+2 and ends at UTC+1.
            (
                dt.date(2026, 10, 19),
                dt.date(2026, 10, 25),
                dt.datetime(2026, 10, 18, 22, 0, tzinfo=UTC),
                dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
            ),
        ],
    )
    def test_range_bounds_at_team_local_midnight(self, side, start, end, first_in, after_end):
        """Europe/Berlin: reviews at local start 00:00 and local end 23:59:59.999999 count, the next instants out."""
        team = TeamFactory(timezone="Europe/Berlin")
        pr = PullRequestFactory(team=team)
        too_early = TeamMemberFactory(team=team, display_name="A too early")
        first = TeamMemberFactory(team=team, display_name="B first")
        last = TeamMemberFactory(team=team, display_name="C last")
        too_late = TeamMemberFactory(team=team, display_name="D too late")
        tick = dt.timedelta(microseconds=1)
        reviews(pr, too_early, 1, submitted_at=first_in - tick)
        reviews(pr, first, 1, submitted_at=first_in)
        reviews(pr, last, 1, submitted_at=after_end - tick)
        reviews(pr, too_late, 1, submitted_at=after_end)

        rows = side(team=team, start_date=start, end_date=end)

        assert [row["member_id"] for row in rows] == [first.pk, last.pk]

    @pytest.mark.django_db
    def test_bots_are_left_out_and_do_not_move_the_mean(self, team, side):
        """Declared change, both sides: bots (by their [bot] login, any case, or flagged by hand) get no row and
        do not count in the mean; a human with the same PRs and reviews does."""
        human = TeamMemberFactory(team=team, display_name="Ana")
        quiet = TeamMemberFactory(team=team, display_name="Quiet")
        bots = [
            TeamMemberFactory(team=team, display_name="dependabot", github_username="dependabot[bot]"),
            TeamMemberFactory(team=team, display_name="Renovate", github_username="Renovate[BOT]"),
            TeamMemberFactory(team=team, display_name="CI user", github_username="ci-user", is_bot=True),
        ]
        assert [bot.is_bot for bot in bots] == [True, True, True]
        for member in (human, *bots):
            pr = PullRequestFactory(team=team, author=member)
            reviews(pr, member, 4)
        reviews(PullRequestFactory(team=team), quiet, 1)

        rows = side(team=team, start_date=START, end_date=END)

        # Mean 5 / 2 over the two people: 4 is "high" (above 3.75), 1 "low" (below 1.25).
        assert counts(rows) == [(human.pk, 4, "high"), (quiet.pk, 1, "low")]

    @pytest.mark.django_db
    def test_other_teams_never_count_nor_move_the_mean(self, team, other_team, side):
        """The same person (same login and name) in another team, with many reviews there: not seen here."""
        mine = TeamMemberFactory(team=team, display_name="Dana", github_username="dana", github_id="42")
        theirs = TeamMemberFactory(team=other_team, display_name="Dana", github_username="dana", github_id="42")
        quiet = TeamMemberFactory(team=team, display_name="Quiet")
        reviews(PullRequestFactory(team=team), mine, 2)
        reviews(PullRequestFactory(team=team), quiet, 2)
        reviews(PullRequestFactory(team=other_team), theirs, 40)

        rows = side(team=team, start_date=START, end_date=END)

        assert counts(rows) == [(mine.pk, 2, "normal"), (quiet.pk, 2, "normal")]

    @pytest.mark.django_db
    def test_a_reviewer_of_another_team_is_refused_alike(self, team, other_team, side):
        """Inconsistent data (a review of this team by another team's member): both sides raise the same error."""
        reviews(PullRequestFactory(team=team), TeamMemberFactory(team=team), 1)
        PRReviewFactory(
            team=team, pull_request=PullRequestFactory(team=team), reviewer=TeamMemberFactory(team=other_team),
            submitted_at=IN_RANGE,
        )

        with pytest.raises(TeamMember.DoesNotExist, match="^TeamMember matching query does not exist.$"):
            side(team=team, start_date=START, end_date=END)

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_rows_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every demo team has several reviewers and levels."""
        rows = [
            optimized.get_reviewer_workload(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20))
            for team in demo_teams
        ]

        assert [len(team_rows) > 5 for team_rows in rows] == [True, True]
        assert [{row["workload"] for row in team_rows} >= {"normal"} for team_rows in rows] == [True, True]
