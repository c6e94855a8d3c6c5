"""Contract of the metrics.ai_adoption_trend pair, run against both sides.

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
from tests.factories import PRSurveyFactory, PullRequestFactory, TeamFactory, TeamMemberFactory
from tests.metrics.contracts.trends import END, START, TICK, WEEK_1, WEEK_2, WEEK_3, at, wednesday_noons
from tests.support.contracts import PairContract

PAIR = "metrics.ai_adoption_trend"


def surveyed_pr(team, *, merged_at, ai: bool | None, author="member", **kwargs):
    """A PR merged at `merged_at` with a survey answered `ai` (None: not answered yet)."""
    if author == "member":
        author = TeamMemberFactory(team=team)
    pr = PullRequestFactory(team=team, author=author, merged_at=merged_at, **kwargs)
    return PRSurveyFactory(pull_request=pr, author=author, author_ai_assisted=ai)


def empty_week(monday: dt.date) -> dict:
    return {"week_start": monday, "ai_pct": Decimal("0.00"), "surveys": 0}


def one_survey_per_week(team, weeks: int) -> dict:
    """A range of `weeks` whole weeks ending on Sunday 22 November, one surveyed merged PR on each Wednesday."""
    arguments, noons = wednesday_noons(weeks)
    member = TeamMemberFactory(team=team)
    for noon in noons:
        surveyed_pr(team, author=member, merged_at=noon, ai=True)
    return arguments


class TestAIAdoptionTrendContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_ai_adoption_trend
    sides = (legacy.get_ai_adoption_trend, optimized.get_ai_adoption_trend)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'list[dict]'"

    # On seeded demo data (a UTC and a Berlin team, unanswered surveys, a survey by someone else) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20)},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31)},
        "across-the-dst-change": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 10, 27)},
    }

    # Optimized: one query bucketing the whole range into weeks. Legacy (the "before"): two queries per week.
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {2: 4, 13: 26}, "optimized": {2: 2, 13: 2}}
    rerun_queries = {"legacy": {2: 4, 13: 26}, "optimized": {2: 1, 13: 1}}

    def build(self, team, size):
        return one_survey_per_week(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: One entry per week, each with its one AI-assisted survey."""
        assert [[(entry["surveys"], entry["ai_pct"]) for entry in trend] for trend in results] == [
            [(1, Decimal("100.00"))] * size
        ] * 2

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses one query where legacy uses two per week."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [1, 1]
        assert [
            comparison.legacy.measurement.queries == 2 * len(comparison.legacy.value) for comparison in comparisons
        ] == [True, True]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="Asia/Tokyo"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_entries_on_hand_built_data(self, team, other_team, side):
        """Weekly share of surveys answered AI-assisted; unanswered surveys count in the denominator."""
        # Tuesday 3 November: same week as the range start, but before it.
        surveyed_pr(team, merged_at=at(3), ai=True)
        surveyed_pr(team, merged_at=at(4, 0, 0), ai=True)
        surveyed_pr(team, merged_at=at(5), ai=False)
        surveyed_pr(team, merged_at=at(6), ai=None)
        # A merged PR without a survey changes nothing.
        PullRequestFactory(team=team, merged_at=at(11))
        surveyed_pr(team, merged_at=at(17), ai=True)
        # No author, or a survey naming someone else: counted all the same.
        surveyed_pr(team, merged_at=at(18), ai=True, author=None)
        PRSurveyFactory(pull_request=PullRequestFactory(team=team, merged_at=at(19)), author=None, author_ai_assisted=False)
        # None of these count: after the range, not merged, another team.
        surveyed_pr(team, merged_at=at(23, 0, 0), ai=True)
        surveyed_pr(team, merged_at=None, ai=True, state=PullRequest.State.OPEN)
        surveyed_pr(other_team, merged_at=at(10), ai=True)

        trend = side(team=team, start_date=START, end_date=END)

        assert trend == [
            {"week_start": WEEK_1, "ai_pct": Decimal("33.33"), "surveys": 3},
            empty_week(WEEK_2),
            {"week_start": WEEK_3, "ai_pct": Decimal("66.67"), "surveys": 3},
        ]

    @pytest.mark.django_db
    def test_value_types_and_two_decimal_places(self, team, side):
        """week_start is a date, ai_pct a Decimal with two places, surveys an int."""
        surveyed_pr(team, merged_at=at(17), ai=True)
        surveyed_pr(team, merged_at=at(17), ai=False)

        trend = side(team=team, start_date=WEEK_3, end_date=END)

        assert [(type(entry["week_start"]), str(entry["ai_pct"]), type(entry["surveys"])) for entry in trend] == [
            (dt.date, "50.00", int)
        ]

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """Every week of the range is listed with 0.00 % and no surveys, even without any PR."""
        assert side(team=team, start_date=START, end_date=END) == [empty_week(WEEK_1), empty_week(WEEK_2), empty_week(WEEK_3)]

    @pytest.mark.django_db
    def test_only_unanswered_surveys(self, team, side):
        """Surveys nobody answered yet: counted, at 0.00 %."""
        surveyed_pr(team, merged_at=at(17), ai=None)
        surveyed_pr(team, merged_at=at(18), ai=None)

        assert side(team=team, start_date=WEEK_3, end_date=END) == [
            {"week_start": WEEK_3, "ai_pct": Decimal("0.00"), "surveys": 2}
        ]

    @pytest.mark.django_db
    def test_rounds_half_up(self, team, side):
        """1 of 32 is 3.125 %, shown as 3.13 (half up; half even would give 3.12); 1 of 3 is 33.33."""
        author = TeamMemberFactory(team=team)
        surveyed_pr(team, merged_at=at(10), ai=True, author=author)
        for _ in range(31):
            surveyed_pr(team, merged_at=at(11), ai=False, author=author)
        surveyed_pr(team, merged_at=at(17), ai=True, author=author)
        surveyed_pr(team, merged_at=at(17), ai=False, author=author)
        surveyed_pr(team, merged_at=at(17), ai=None, author=author)

        trend = side(team=team, start_date=WEEK_2, end_date=END)

        assert [(entry["ai_pct"], entry["surveys"]) for entry in trend] == [(Decimal("3.13"), 32), (Decimal("33.33"), 3)]

    @pytest.mark.django_db
    def test_single_day_range(self, team, side):
        """A one-day range is one week entry counting only that day."""
        surveyed_pr(team, merged_at=at(17, 23, 59, 59), ai=False)
        surveyed_pr(team, merged_at=at(18), ai=True)
        surveyed_pr(team, merged_at=at(19, 0, 0), ai=False)

        trend = side(team=team, start_date=dt.date(2026, 11, 18), end_date=dt.date(2026, 11, 18))

        assert trend == [{"week_start": WEEK_3, "ai_pct": Decimal("100.00"), "surveys": 1}]

    @pytest.mark.django_db
    def test_weeks_and_bounds_at_berlin_midnight(self, side):
        """Europe/Berlin (UTC+1 in November): weeks and the range start and end at local midnight, not UTC's."""
        team = TeamFactory(timezone="Europe/Berlin")
        surveyed_pr(team, merged_at=at(3, 23) - TICK, ai=False)
        surveyed_pr(team, merged_at=at(3, 23), ai=True)
        surveyed_pr(team, merged_at=at(15, 23) - TICK, ai=False)
        surveyed_pr(team, merged_at=at(15, 23), ai=True)
        surveyed_pr(team, merged_at=at(22, 23) - TICK, ai=False)
        surveyed_pr(team, merged_at=at(22, 23), ai=True)

        trend = side(team=team, start_date=START, end_date=END)

        assert trend == [
            {"week_start": WEEK_1, "ai_pct": Decimal("100.00"), "surveys": 1},
            {"week_start": WEEK_2, "ai_pct": Decimal("0.00"), "surveys": 1},
            {"week_start": WEEK_3, "ai_pct": Decimal("50.00"), "surveys": 2},
        ]

    @pytest.mark.django_db
    def test_range_across_the_dst_change(self, side):
        """Berlin leaves summer time on Sunday 25 October: the week of 19 October starts at 22:00 UTC, the next at 23:00."""
        team = TeamFactory(timezone="Europe/Berlin")
        surveyed_pr(team, merged_at=at(21, 22, month=10) - TICK, ai=True)
        surveyed_pr(team, merged_at=at(21, 22, month=10), ai=True)
        surveyed_pr(team, merged_at=at(25, 23, month=10) - TICK, ai=False)
        surveyed_pr(team, merged_at=at(25, 23, month=10), ai=True)
        surveyed_pr(team, merged_at=at(27, 23, month=10) - TICK, ai=True)
        surveyed_pr(team, merged_at=at(27, 23, month=10), ai=False)

        trend = side(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 10, 27))

        assert trend == [
            {"week_start": dt.date(2026, 10, 19), "ai_pct": Decimal("50.00"), "surveys": 2},
            {"week_start": dt.date(2026, 10, 26), "ai_pct": Decimal("100.00"), "surveys": 2},
        ]

    @pytest.mark.django_db
    def test_surveys_filed_under_another_team_are_left_out(self, team, other_team, side):
        """A survey row of another team on this team's PR (inconsistent data) counts on neither side.

        Legacy filters surveys by team as well as their PRs.
        """
        pr = PullRequestFactory(team=team, merged_at=at(17))
        PRSurveyFactory(pull_request=pr, team=other_team, author_ai_assisted=True)
        surveyed_pr(team, merged_at=at(18), ai=False)

        assert side(team=team, start_date=WEEK_3, end_date=END) == [
            {"week_start": WEEK_3, "ai_pct": Decimal("0.00"), "surveys": 1}
        ]

    @pytest.mark.django_db
    def test_a_reversed_range_gives_what_legacy_gives(self, team, side):
        """Thursday to the Tuesday before: one empty week, as legacy lists it."""
        surveyed_pr(team, merged_at=at(18), ai=True)

        assert side(team=team, start_date=dt.date(2026, 11, 19), end_date=dt.date(2026, 11, 17)) == [empty_week(WEEK_3)]

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_weeks_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every week of every demo team has surveys."""
        trends = [
            optimized.get_ai_adoption_trend(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20))
            for team in demo_teams
        ]

        assert [[entry["surveys"] > 0 for entry in trend] for trend in trends] == [[True] * 5, [True] * 5]
