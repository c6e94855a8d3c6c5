"""Contract of the metrics.cycle_time_trend pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the entries written here. The range
used most is Wednesday 2026-11-04 to Sunday 2026-11-22, both inclusive: it
touches the weeks of Monday 2 November (from Wednesday on only), 9 November
and 16 November. Registration, examples, demo-data agreement and query counts
come from the shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from shadow import pairs as registry
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.metrics.contracts.trends import END, START, TICK, WEEK_1, WEEK_2, WEEK_3, at, wednesday_noons
from tests.support.contracts import PairContract

PAIR = "metrics.cycle_time_trend"


def merged_pr(team, *, merged_at, cycle: str | None = "24.00", author="member", **kwargs) -> PullRequest:
    if author == "member":
        author = TeamMemberFactory(team=team)
    return PullRequestFactory(
        team=team, author=author, merged_at=merged_at, cycle_time_hours=None if cycle is None else Decimal(cycle), **kwargs
    )


def empty_week(monday: dt.date) -> dict:
    return {"week_start": monday, "value": None, "prs": 0}


def one_pr_per_week(team, weeks: int) -> dict:
    """A range of `weeks` whole weeks ending on Sunday 22 November, one merged PR on each Wednesday."""
    arguments, noons = wednesday_noons(weeks)
    member = TeamMemberFactory(team=team)
    for noon in noons:
        merged_pr(team, author=member, merged_at=noon)
    return arguments


class TestCycleTimeTrendContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_cycle_time_trend
    sides = (legacy.get_cycle_time_trend, optimized.get_cycle_time_trend)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'list[dict]'"

    # On seeded demo data (a UTC and a Berlin team, the range across Berlin's change to winter time on
    # 25 October, midnight merges, half-cent means) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20)},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31)},
        "across-the-dst-change": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 10, 27)},
    }

    # Optimized: one query bucketing the whole range into weeks. Legacy (the "before"): one query per week.
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {2: 2, 13: 13}, "optimized": {2: 2, 13: 2}}
    rerun_queries = {"legacy": {2: 2, 13: 13}, "optimized": {2: 1, 13: 1}}

    def build(self, team, size):
        return one_pr_per_week(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: One entry per week, each with its one PR."""
        assert [[entry["prs"] for entry in trend] for trend in results] == [[1] * size] * 2

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses one query where legacy uses one per week."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [1, 1]
        assert [
            comparison.legacy.measurement.queries == len(comparison.legacy.value) for comparison in comparisons
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
    def test_entries_on_hand_built_data(self, team, other_team, side):
        """One entry per week; the first week only counts days inside the range; empty weeks have value None."""
        # Tuesday 3 November: same week as the range start, but before it.
        merged_pr(team, merged_at=at(3), cycle="100.00")
        merged_pr(team, merged_at=at(4, 0, 0), cycle="6.00")
        merged_pr(team, merged_at=at(17), cycle="10.00")
        merged_pr(team, merged_at=at(18), cycle="20.50")
        # No author: counted. No cycle time: counted in prs, not in the mean.
        merged_pr(team, merged_at=at(22, 23, 59, 59), cycle=None, author=None)
        # None of these count: after the range, not merged, another team.
        merged_pr(team, merged_at=at(23, 0, 0), cycle="300.00")
        PullRequestFactory(team=team, state=PullRequest.State.OPEN, merged_at=None)
        PullRequestFactory(team=team, state=PullRequest.State.CLOSED, merged_at=None)
        merged_pr(other_team, merged_at=at(10), cycle="90.00")

        trend = side(team=team, start_date=START, end_date=END)

        assert trend == [
            {"week_start": WEEK_1, "value": Decimal("6.00"), "prs": 1},
            empty_week(WEEK_2),
            {"week_start": WEEK_3, "value": Decimal("15.25"), "prs": 3},
        ]

    @pytest.mark.django_db
    def test_value_types_and_two_decimal_places(self, team, side):
        """week_start is a date, value a Decimal with two places, prs an int."""
        merged_pr(team, merged_at=at(17), cycle="7.5")

        trend = side(team=team, start_date=WEEK_3, end_date=END)

        assert [(type(entry["week_start"]), str(entry["value"]), type(entry["prs"])) for entry in trend] == [
            (dt.date, "7.50", int)
        ]

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """Every week of the range is listed even without any PR."""
        assert side(team=team, start_date=START, end_date=END) == [empty_week(WEEK_1), empty_week(WEEK_2), empty_week(WEEK_3)]

    @pytest.mark.django_db
    def test_week_of_prs_without_cycle_times(self, team, side):
        """PRs without a cycle time count in prs; the week's value is None when none has one."""
        merged_pr(team, merged_at=at(17), cycle=None)
        merged_pr(team, merged_at=at(18), cycle=None)

        assert side(team=team, start_date=WEEK_3, end_date=END) == [{"week_start": WEEK_3, "value": None, "prs": 2}]

    @pytest.mark.django_db
    def test_rounds_half_up(self, team, side):
        """10.00 and 10.01 average to 10.005, shown as 10.01; 0.00 and 0.01 to 0.005, shown as 0.01."""
        merged_pr(team, merged_at=at(10), cycle="10.00")
        merged_pr(team, merged_at=at(11), cycle="10.01")
        merged_pr(team, merged_at=at(17), cycle="0.00")
        merged_pr(team, merged_at=at(18), cycle="0.01")

        trend = side(team=team, start_date=WEEK_2, end_date=END)

        assert [entry["value"] for entry in trend] == [Decimal("10.01"), Decimal("0.01")]

    @pytest.mark.django_db
    def test_single_day_range(self, team, side):
        """A one-day range is one week entry counting only that day."""
        merged_pr(team, merged_at=at(17, 23, 59, 59), cycle="1.00")
        merged_pr(team, merged_at=at(18), cycle="2.25")
        merged_pr(team, merged_at=at(19, 0, 0), cycle="9.00")

        trend = side(team=team, start_date=dt.date(2026, 11, 18), end_date=dt.date(2026, 11, 18))

        assert trend == [{"week_start": WEEK_3, "value": Decimal("2.25"), "prs": 1}]

    @pytest.mark.django_db
    def test_range_ending_on_a_monday_clips_the_last_week_to_that_day(self, team, side):
        """Sunday to Monday: two weeks, one day each."""
        merged_pr(team, merged_at=at(15), cycle="1.00")
        merged_pr(team, merged_at=at(16), cycle="3.00")
        merged_pr(team, merged_at=at(17), cycle="5.00")

        trend = side(team=team, start_date=dt.date(2026, 11, 15), end_date=dt.date(2026, 11, 16))

        assert trend == [
            {"week_start": WEEK_2, "value": Decimal("1.00"), "prs": 1},
            {"week_start": WEEK_3, "value": Decimal("3.00"), "prs": 1},
        ]

    @pytest.mark.django_db
    def test_weeks_and_bounds_at_berlin_midnight(self, side):
        """Europe/Berlin (UTC+1 in November): weeks and the range start and end at local midnight, not UTC's."""
        team = TeamFactory(timezone="Europe/Berlin")
        # Tuesday 3 November 23:59:59.999999 local: before the range.
        merged_pr(team, merged_at=at(3, 23) - TICK, cycle="100.00")
        # Wednesday 4 November 00:00 local: the range's first instant.
        merged_pr(team, merged_at=at(3, 23), cycle="2.00")
        # Sunday 15 November 23:59:59.999999 local: still the second week.
        merged_pr(team, merged_at=at(15, 23) - TICK, cycle="4.00")
        # Monday 16 November 00:00 local (still Sunday in UTC): the third week.
        merged_pr(team, merged_at=at(15, 23), cycle="6.00")
        # Sunday 22 November 23:59:59.999999 local: the range's last instant; then the first one after it.
        merged_pr(team, merged_at=at(22, 23) - TICK, cycle="8.00")
        merged_pr(team, merged_at=at(22, 23), cycle="300.00")

        trend = side(team=team, start_date=START, end_date=END)

        assert trend == [
            {"week_start": WEEK_1, "value": Decimal("2.00"), "prs": 1},
            {"week_start": WEEK_2, "value": Decimal("4.00"), "prs": 1},
            {"week_start": WEEK_3, "value": Decimal("7.00"), "prs": 2},
        ]

    @pytest.mark.django_db
    def test_range_across_the_dst_change(self, side):
        """Berlin leaves summer time on Sunday 25 October: the week of 19 October starts at 22:00 UTC, the next at 23:00."""
        team = TeamFactory(timezone="Europe/Berlin")
        # Thursday 22 October 00:00 local (UTC+2) is the range start; one microsecond before is out.
        merged_pr(team, merged_at=at(21, 22, month=10) - TICK, cycle="100.00")
        merged_pr(team, merged_at=at(21, 22, month=10), cycle="1.00")
        # Sunday 25 October 23:59:59.999999 local (UTC+1 by then): the first week's last instant.
        merged_pr(team, merged_at=at(25, 23, month=10) - TICK, cycle="3.00")
        # Monday 26 October 00:00 local: the second week.
        merged_pr(team, merged_at=at(25, 23, month=10), cycle="5.00")
        # Tuesday 27 October 23:59:59.999999 local is the range's last instant; then the first one after it.
        merged_pr(team, merged_at=at(27, 23, month=10) - TICK, cycle="7.00")
        merged_pr(team, merged_at=at(27, 23, month=10), cycle="300.00")

        trend = side(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 10, 27))

        assert trend == [
            {"week_start": dt.date(2026, 10, 19), "value": Decimal("2.00"), "prs": 2},
            {"week_start": dt.date(2026, 10, 26), "value": Decimal("6.00"), "prs": 2},
        ]

    @pytest.mark.django_db
    def test_weeks_follow_a_zone_behind_utc(self, side):
        """New York: Monday 03:00 UTC is still Sunday locally, so the PR belongs to the previous week."""
        team = TeamFactory(timezone="America/New_York")
        merged_pr(team, merged_at=at(16, 3), cycle="3.00")
        merged_pr(team, merged_at=at(16, 5), cycle="5.00")
        merged_pr(team, merged_at=at(23, 4, 59, 59), cycle="7.00")
        merged_pr(team, merged_at=at(23, 5), cycle="99.00")

        trend = side(team=team, start_date=WEEK_2, end_date=END)

        assert trend == [
            {"week_start": WEEK_2, "value": Decimal("3.00"), "prs": 1},
            {"week_start": WEEK_3, "value": Decimal("6.00"), "prs": 2},
        ]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            # Thursday to the Tuesday before: the Monday of the start is not after the end, so one empty week.
            (dt.date(2026, 11, 19), dt.date(2026, 11, 17), [empty_week(WEEK_3)]),
            # Monday to the Sunday before: no week at all.
            (dt.date(2026, 11, 23), dt.date(2026, 11, 22), []),
        ],
    )
    def test_a_reversed_range_gives_what_legacy_gives(self, team, side, start, end, expected):
        """A start after the end counts nothing; its weeks are those legacy lists for it."""
        merged_pr(team, merged_at=at(18), cycle="1.00")

        assert side(team=team, start_date=start, end_date=end) == expected

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_weeks_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every week of every demo team has PRs."""
        trends = [
            optimized.get_cycle_time_trend(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20))
            for team in demo_teams
        ]

        assert [[entry["prs"] > 0 for entry in trend] for trend in trends] == [[True] * 5, [True] * 5]
