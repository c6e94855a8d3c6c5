"""Contract of the metrics.copilot_metrics pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the totals written here. Usage rows
are per calendar date; the range used throughout is 2026-11-16 to 2026-11-22,
both inclusive. Registration, examples, demo-data agreement and query counts
come from the shared contract base (tests/support/contracts.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import AIUsageDaily
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from shadow import pairs as registry
from tests.factories import AIUsageDailyFactory, TeamFactory, TeamMemberFactory
from tests.support.contracts import PairContract

PAIR = "metrics.copilot_metrics"
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
NOTHING = {"total_shown": 0, "total_accepted": 0, "acceptance_rate": None, "active_members": 0}


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


def usage(member, *, on: dt.date, shown: int, accepted: int, **kwargs) -> AIUsageDaily:
    return AIUsageDailyFactory(
        team=member.team, member=member, date=on, suggestions_shown=shown, suggestions_accepted=accepted, **kwargs
    )


def members_with_usage(team, members: int) -> None:
    """`members` members, each with two Copilot days in range."""
    for _ in range(members):
        member = TeamMemberFactory(team=team)
        usage(member, on=day(17), shown=10, accepted=5)
        usage(member, on=day(18), shown=10, accepted=5)


class TestCopilotMetricsContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_copilot_metrics
    sides = (legacy.get_copilot_metrics, optimized.get_copilot_metrics)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'dict'"

    # On seeded demo data (weekend usage, zero-suggestion days, inactive members, half-cent rates) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20)},
        "last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20)},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31)},
    }

    # Optimized: one aggregate. Legacy (the "before"): two queries (totals, active members), both constant.
    call_kwargs = {"start_date": START, "end_date": END}
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {5: 2, 50: 2}, "optimized": {5: 2, 50: 2}}
    rerun_queries = {"legacy": {5: 2, 50: 2}, "optimized": {5: 1, 50: 1}}

    def build(self, team, size):
        members_with_usage(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: Every member's two days summed, every member active."""
        assert results == [
            {"total_shown": 20 * size, "total_accepted": 10 * size, "acceptance_rate": Decimal("50.00"), "active_members": size}
        ] * 2

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses one query where legacy uses two."""
        assert [(comparison.legacy.measurement.queries, comparison.optimized.measurement.queries) for comparison in comparisons] == [
            (2, 1),
            (2, 1),
        ]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="America/New_York"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_totals_on_hand_built_data(self, team, other_team, side):
        """Sums over the team's Copilot days in range; active members are those with a day showing suggestions."""
        ana = TeamMemberFactory(team=team)
        bruno = TeamMemberFactory(team=team)
        idle = TeamMemberFactory(team=team)
        inactive = TeamMemberFactory(team=team, is_active=False)
        usage(ana, on=day(16), shown=100, accepted=30)
        usage(ana, on=day(22), shown=60, accepted=20)
        usage(bruno, on=day(18), shown=200, accepted=50)
        usage(bruno, on=day(19), shown=0, accepted=0)
        # Days that all show nothing: counted in the sums (0), not active.
        usage(idle, on=day(18), shown=0, accepted=0)
        usage(idle, on=day(19), shown=0, accepted=0)
        # An inactive member's usage counts like anyone's.
        usage(inactive, on=day(20), shown=40, accepted=0)
        # None of these count: outside the range, another tool, another team.
        usage(ana, on=day(15), shown=1000, accepted=1000)
        usage(ana, on=day(23), shown=1000, accepted=1000)
        usage(idle, on=day(17), shown=500, accepted=500, source=AIUsageDaily.Source.CURSOR)
        usage(TeamMemberFactory(team=other_team), on=day(18), shown=900, accepted=900)

        assert side(team=team, start_date=START, end_date=END) == {
            "total_shown": 400,
            "total_accepted": 100,
            "acceptance_rate": Decimal("25.00"),
            "active_members": 3,
        }

    @pytest.mark.django_db
    def test_value_types_and_two_decimal_places(self, team, side):
        """Totals and active members are ints; the rate is a Decimal with two places (2 of 3 is 66.67)."""
        usage(TeamMemberFactory(team=team), on=day(16), shown=3, accepted=2)

        totals = side(team=team, start_date=START, end_date=END)

        assert {key: type(value) for key, value in totals.items()} == {
            "total_shown": int,
            "total_accepted": int,
            "acceptance_rate": Decimal,
            "active_members": int,
        }
        assert str(totals["acceptance_rate"]) == "66.67"

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("shown", "accepted", "rate"),
        [
            # 0.125 %: half up to 0.13 (half even would give 0.12).
            (800, 1, "0.13"),
            # 3.125 %: half up to 3.13.
            (32, 1, "3.13"),
            # 0.005 %: half up to 0.01.
            (20000, 1, "0.01"),
            # More accepted than shown (inconsistent report): above 100 %, as legacy computes it.
            (8, 9, "112.50"),
        ],
    )
    def test_rate_rounds_half_up(self, team, side, shown, accepted, rate):
        """The rate is accepted ÷ shown × 100, rounded half up to two places."""
        usage(TeamMemberFactory(team=team), on=day(17), shown=shown, accepted=accepted)

        assert str(side(team=team, start_date=START, end_date=END)["acceptance_rate"]) == rate

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """No usage: zero totals, no rate, nobody active."""
        TeamMemberFactory(team=team)

        assert side(team=team, start_date=START, end_date=END) == NOTHING

    @pytest.mark.django_db
    def test_nothing_shown_has_no_rate(self, team, side):
        """Usage rows that all show nothing: zero totals, no rate, nobody active."""
        usage(TeamMemberFactory(team=team), on=day(17), shown=0, accepted=0)

        assert side(team=team, start_date=START, end_date=END) == NOTHING

    @pytest.mark.django_db
    def test_a_member_active_on_several_days_counts_once(self, team, side):
        """Distinct members: one member with five active days is one active member."""
        member = TeamMemberFactory(team=team)
        for n in range(16, 21):
            usage(member, on=day(n), shown=10, accepted=1)

        assert side(team=team, start_date=START, end_date=END) == {
            "total_shown": 50,
            "total_accepted": 5,
            "acceptance_rate": Decimal("10.00"),
            "active_members": 1,
        }

    @pytest.mark.django_db
    def test_a_bot_is_not_an_active_member_but_its_usage_counts(self, team, side):
        """Declared change, both sides: active_members counts people, so a bot is not one; the totals are the
        team's usage, the bot's included."""
        human = TeamMemberFactory(team=team)
        bot = TeamMemberFactory(team=team, github_username="dependabot[bot]")
        for member in (human, bot):
            usage(member, on=day(17), shown=10, accepted=5)

        assert side(team=team, start_date=START, end_date=END) == {
            "total_shown": 20,
            "total_accepted": 10,
            "acceptance_rate": Decimal("50.00"),
            "active_members": 1,
        }

    @pytest.mark.django_db
    def test_dates_are_compared_as_they_are_whatever_the_team_timezone(self, side):
        """Usage dates are GitHub's calendar days: both range dates are inclusive, with no shift for Berlin's zone."""
        team = TeamFactory(timezone="Europe/Berlin")
        member = TeamMemberFactory(team=team)
        usage(member, on=day(15), shown=1, accepted=1)
        usage(member, on=day(16), shown=10, accepted=2)
        usage(member, on=day(22), shown=10, accepted=4)
        usage(member, on=day(23), shown=100, accepted=100)

        assert side(team=team, start_date=START, end_date=END) == {
            "total_shown": 20,
            "total_accepted": 6,
            "acceptance_rate": Decimal("30.00"),
            "active_members": 1,
        }

    @pytest.mark.django_db
    def test_single_day_range(self, team, side):
        """A one-day range counts that calendar day only."""
        member = TeamMemberFactory(team=team)
        usage(member, on=day(17), shown=10, accepted=1)
        usage(member, on=day(18), shown=20, accepted=3)
        usage(TeamMemberFactory(team=team), on=day(19), shown=40, accepted=40)

        assert side(team=team, start_date=day(18), end_date=day(18)) == {
            "total_shown": 20,
            "total_accepted": 3,
            "acceptance_rate": Decimal("15.00"),
            "active_members": 1,
        }

    @pytest.mark.django_db
    def test_duplicate_logins_across_teams_stay_apart(self, team, other_team, side):
        """The same person (same login, GitHub id and name) in two teams: each team sees only its own usage."""
        mine = TeamMemberFactory(team=team, display_name="Dana", github_username="dana", github_id="42")
        theirs = TeamMemberFactory(team=other_team, display_name="Dana", github_username="dana", github_id="42")
        usage(mine, on=day(17), shown=10, accepted=1)
        usage(theirs, on=day(17), shown=1000, accepted=900)

        assert side(team=team, start_date=START, end_date=END) == {
            "total_shown": 10,
            "total_accepted": 1,
            "acceptance_rate": Decimal("10.00"),
            "active_members": 1,
        }

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_totals_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every demo team has several active Copilot users."""
        totals = [
            optimized.get_copilot_metrics(team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20))
            for team in demo_teams
        ]

        assert [team_totals["active_members"] > 5 for team_totals in totals] == [True, True]
