"""Contract of the metrics.pr_size_distribution pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the buckets written here. The range
used throughout is Monday 2026-11-16 to Sunday 2026-11-22, both inclusive, in
the team's time zone. Registration, examples, demo-data agreement and query
counts come from the shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from shadow import pairs as registry
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.support.contracts import PairContract

PAIR = "metrics.pr_size_distribution"
UTC = dt.UTC
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
IN_RANGE = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
LABELS = ["XS", "S", "M", "L", "XL"]


def sized_pr(team, lines: int, *, merged_at=IN_RANGE, **kwargs) -> PullRequest:
    """A merged PR changing `lines` lines (additions and deletions split unevenly)."""
    return PullRequestFactory(team=team, merged_at=merged_at, additions=lines - lines // 3, deletions=lines // 3, **kwargs)


def distribution(*counts: int) -> list[dict]:
    return [{"size": label, "count": count} for label, count in zip(LABELS, counts)]


class TestPRSizeDistributionContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_pr_size_distribution
    sides = (legacy.get_pr_size_distribution, optimized.get_pr_size_distribution)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'list[dict]'"

    # On seeded demo data (a UTC and a Berlin team, PRs without author, midnight merges) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20)},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31)},
    }

    # Both constant: legacy loads every merged PR in one query and counts in Python (its cost grows with
    # the rows it transfers, not with its queries); optimized counts in SQL and returns one row.
    call_kwargs = {"start_date": START, "end_date": END}
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {5: 1, 50: 1}, "optimized": {5: 2, 50: 2}}
    rerun_queries = {"legacy": {5: 1, 50: 1}, "optimized": {5: 1, 50: 1}}

    def build(self, team, size):
        member = TeamMemberFactory(team=team)
        for position in range(size):
            sized_pr(team, [5, 30, 100, 300, 900][position % 5], author=member)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: Every PR counted, spread over the five buckets."""
        assert results == [distribution(*[size // 5] * 5)] * 2

    def check_demo_comparisons(self, comparisons):
        """Both sides use one query."""
        assert [(comparison.legacy.measurement.queries, comparison.optimized.measurement.queries) for comparison in comparisons] == [
            (1, 1),
            (1, 1),
        ]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="Europe/Berlin"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_bucket_edges_are_inclusive_upper_bounds(self, team, side):
        """Size is additions + deletions; 10, 50, 200 and 500 are the last sizes of XS, S, M and L."""
        for lines in (0, 10, 11, 50, 51, 200, 201, 500, 501, 5000):
            sized_pr(team, lines)

        assert side(team=team, start_date=START, end_date=END) == distribution(2, 2, 2, 2, 2)

    @pytest.mark.django_db
    def test_only_merged_prs_in_range_of_this_team_count(self, team, other_team, side):
        """Open, closed, merged outside the range, another team's: none counted; no author: counted."""
        sized_pr(team, 30)
        sized_pr(team, 30, author=None)
        sized_pr(team, 5, state=PullRequest.State.OPEN, merged_at=None)
        sized_pr(team, 5, state=PullRequest.State.CLOSED, merged_at=None)
        sized_pr(team, 5, merged_at=dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
        sized_pr(team, 5, merged_at=dt.datetime(2026, 11, 15, 23, 59, 59, tzinfo=UTC))
        sized_pr(other_team, 5)
        sized_pr(other_team, 1000)

        assert side(team=team, start_date=START, end_date=END) == distribution(0, 2, 0, 0, 0)

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """All five buckets are always listed, in order, with 0 when empty."""
        assert side(team=team, start_date=START, end_date=END) == distribution(0, 0, 0, 0, 0)

    @pytest.mark.django_db
    def test_value_types(self, team, side):
        """Labels are strings, counts ints."""
        sized_pr(team, 1)

        assert [(type(row["size"]), type(row["count"])) for row in side(team=team, start_date=START, end_date=END)] == [
            (str, int)
        ] * 5

    @pytest.mark.django_db
    def test_sizes_beyond_the_usual(self, team, side):
        """A negative size (inconsistent data) is XS as size_bucket decides; two columns near the integer limit add up
        without overflowing, to XL."""
        PullRequestFactory(team=team, merged_at=IN_RANGE, additions=-40, deletions=0)
        PullRequestFactory(team=team, merged_at=IN_RANGE, additions=2_000_000_000, deletions=2_000_000_000)

        assert side(team=team, start_date=START, end_date=END) == distribution(1, 0, 0, 0, 1)

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
        """Europe/Berlin: PRs merged at local start 00:00 and at the last instant of the end day count, the next ones not."""
        team = TeamFactory(timezone="Europe/Berlin")
        tick = dt.timedelta(microseconds=1)
        sized_pr(team, 1, merged_at=first_in - tick)
        sized_pr(team, 20, merged_at=first_in)
        sized_pr(team, 100, merged_at=after_end - tick)
        sized_pr(team, 300, merged_at=after_end)

        assert side(team=team, start_date=start, end_date=end) == distribution(0, 1, 1, 0, 0)

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_counts_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every demo team has PRs in at least three buckets."""
        counts = [
            optimized.get_pr_size_distribution(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20))
            for team in demo_teams
        ]

        assert [sum(row["count"] > 0 for row in team_counts) >= 3 for team_counts in counts] == [True, True]
