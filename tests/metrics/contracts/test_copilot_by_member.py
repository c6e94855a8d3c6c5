"""Contract of the metrics.copilot_by_member pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the rows written here. Usage rows are
per calendar date; the range used throughout is 2026-11-16 to 2026-11-22,
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

PAIR = "metrics.copilot_by_member"
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)


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


class TestCopilotByMemberContract(PairContract):
    pair_name = PAIR
    entry_point = dashboard.get_copilot_by_member
    sides = (legacy.get_copilot_by_member, optimized.get_copilot_by_member)
    signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date', limit: 'int' = 10) -> 'list[dict]'"

    # On seeded demo data (weekend usage, zero-suggestion days, inactive members, bots) both sides agree.
    demo_cases = {
        "whole-history": {"start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20), "limit": 10},
        "whole-history-cut-by-the-limit": {
            "start_date": dt.date(2026, 10, 22), "end_date": dt.date(2026, 11, 20), "limit": 5
        },
        "last-week-top-three": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20), "limit": 3},
        "last-day": {"start_date": dt.date(2026, 11, 20), "end_date": dt.date(2026, 11, 20), "limit": 10},
        "wider-than-the-data": {"start_date": dt.date(2026, 9, 1), "end_date": dt.date(2026, 12, 31), "limit": 10},
    }

    # Optimized: one grouped query with LIMIT, whatever the number of members. Legacy (the "before"):
    # 1 query for the members, then 2 per member, whatever the limit.
    call_kwargs = {"start_date": START, "end_date": END}
    # Optimized on a miss: the team's data stamp, then the query; a second call is a cache hit (the stamp only).
    queries = {"legacy": {5: 11, 50: 101}, "optimized": {5: 2, 50: 2}}
    rerun_queries = {"legacy": {5: 11, 50: 101}, "optimized": {5: 1, 50: 1}}

    def build(self, team, size):
        members_with_usage(team, size)

    def check_measured_results(self, team, size, results):
        """The call and its rerun: Every member with usage, up to the default limit of ten."""
        assert [len(rows) for rows in results] == [{5: 5, 50: 10}[size]] * 2

    def check_demo_comparisons(self, comparisons):
        """The optimized side uses one query where legacy uses 1 + 2 per member with usage."""
        assert [comparison.optimized.measurement.queries for comparison in comparisons] == [1, 1]

    # --- examples ----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day(self):
        """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
        examples = registry.get(PAIR).examples(TeamFactory(timezone="America/New_York"))

        assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
        assert len({example["end_date"] for example in examples}) == 1

    # --- behaviour, both sides ---------------------------------------------------------

    @pytest.mark.django_db
    def test_rows_on_hand_built_data(self, team, other_team, side):
        """Per-member Copilot sums and rate, sorted by accepted desc, then name, then id; nothing else counts."""
        bruno = TeamMemberFactory(team=team, display_name="Bruno")
        ana = TeamMemberFactory(team=team, display_name="Ana")
        carla = TeamMemberFactory(team=team, display_name="Carla")
        dora = TeamMemberFactory(team=team, display_name="Dora", is_active=False)
        usage(ana, on=day(16), shown=100, accepted=30)
        usage(ana, on=day(22), shown=60, accepted=20)
        usage(bruno, on=day(18), shown=200, accepted=50)
        # Zero suggestions shown: the member is listed, with no rate.
        usage(carla, on=day(18), shown=0, accepted=0)
        # Inactive members are listed like anyone else.
        usage(dora, on=day(19), shown=10, accepted=9)
        # None of these count: outside the range, another tool, another team.
        usage(dora, on=day(15), shown=1000, accepted=1000)
        usage(dora, on=day(23), shown=1000, accepted=1000)
        usage(carla, on=day(18), shown=500, accepted=500, source=AIUsageDaily.Source.CURSOR)
        usage(TeamMemberFactory(team=other_team, display_name="Aaron"), on=day(18), shown=900, accepted=900)

        rows = side(team=team, start_date=START, end_date=END)

        assert rows == [
            {
                "member_id": ana.pk,
                "member_name": "Ana",
                "suggestions_shown": 160,
                "suggestions_accepted": 50,
                "acceptance_rate": Decimal("31.25"),
            },
            {
                "member_id": bruno.pk,
                "member_name": "Bruno",
                "suggestions_shown": 200,
                "suggestions_accepted": 50,
                "acceptance_rate": Decimal("25.00"),
            },
            {
                "member_id": dora.pk,
                "member_name": "Dora",
                "suggestions_shown": 10,
                "suggestions_accepted": 9,
                "acceptance_rate": Decimal("90.00"),
            },
            {
                "member_id": carla.pk,
                "member_name": "Carla",
                "suggestions_shown": 0,
                "suggestions_accepted": 0,
                "acceptance_rate": None,
            },
        ]

    @pytest.mark.django_db
    def test_value_types_and_two_decimal_places(self, team, side):
        """Sums are ints; the rate is a Decimal with two places, rounded half up (1 of 8 is 12.50, 2 of 3 is 66.67)."""
        eighth = TeamMemberFactory(team=team, display_name="Eighth")
        two_thirds = TeamMemberFactory(team=team, display_name="Two thirds")
        usage(eighth, on=day(16), shown=8, accepted=1)
        usage(two_thirds, on=day(16), shown=3, accepted=2)

        rows = side(team=team, start_date=START, end_date=END)

        assert [
            (
                type(row["member_id"]),
                type(row["suggestions_shown"]),
                type(row["suggestions_accepted"]),
                str(row["acceptance_rate"]),
            )
            for row in rows
        ] == [(int, int, int, "66.67"), (int, int, int, "12.50")]

    @pytest.mark.django_db
    def test_half_up_rounding(self, team, side):
        """1 of 200 accepted is 0.5 %, shown as 0.50; 1 of 8 000 is 0.0125 %, rounded half up to 0.01."""
        member = TeamMemberFactory(team=team, display_name="A")
        other = TeamMemberFactory(team=team, display_name="B")
        usage(member, on=day(16), shown=200, accepted=1)
        usage(other, on=day(16), shown=8000, accepted=1)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["acceptance_rate"]) for row in rows] == [
            (member.pk, Decimal("0.50")),
            (other.pk, Decimal("0.01")),
        ]

    @pytest.mark.django_db
    def test_empty_team(self, team, side):
        """No usage: no rows."""
        assert side(team=team, start_date=START, end_date=END) == []

    @pytest.mark.django_db
    def test_single_member_over_several_days(self, team, side):
        """One member's days add up into one row; a member without usage gets none."""
        member = TeamMemberFactory(team=team, display_name="Solo")
        TeamMemberFactory(team=team, display_name="Idle")
        usage(member, on=day(16), shown=40, accepted=10)
        usage(member, on=day(17), shown=40, accepted=10)

        rows = side(team=team, start_date=START, end_date=END)

        assert rows == [
            {
                "member_id": member.pk,
                "member_name": "Solo",
                "suggestions_shown": 80,
                "suggestions_accepted": 20,
                "acceptance_rate": Decimal("25.00"),
            }
        ]

    @pytest.mark.django_db
    def test_limit_applies_after_sorting(self, team, side):
        """`limit` keeps the top rows of the sorted list; same accepted and name fall back to member id."""
        first = TeamMemberFactory(team=team, display_name="Sam")
        second = TeamMemberFactory(team=team, display_name="Sam")
        top = TeamMemberFactory(team=team, display_name="Zoe")
        usage(second, on=day(17), shown=10, accepted=5)
        usage(first, on=day(17), shown=20, accepted=5)
        usage(top, on=day(17), shown=10, accepted=10)

        rows = side(team=team, start_date=START, end_date=END, limit=2)

        assert [row["member_id"] for row in rows] == [top.pk, first.pk]

    @pytest.mark.django_db
    def test_default_limit_is_ten(self, team, side):
        """Without a limit, the ten members with most accepted suggestions."""
        members = [TeamMemberFactory(team=team) for _ in range(12)]
        for accepted, member in enumerate(members):
            usage(member, on=day(17), shown=100, accepted=accepted)

        rows = side(team=team, start_date=START, end_date=END)

        assert [row["suggestions_accepted"] for row in rows] == [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        ("limit", "accepted"),
        [
            (0, []),
            (1, [3]),
            (3, [3, 2, 1]),
            (50, [3, 2, 1]),
            # Legacy slices a Python list, so a negative limit drops that many rows from the end.
            (-1, [3, 2]),
            (-3, []),
        ],
    )
    def test_limit_edge_values(self, team, side, limit, accepted):
        """limit 0 gives no rows, a limit above the row count gives them all, a negative one slices like a list."""
        for count in (1, 2, 3):
            usage(TeamMemberFactory(team=team), on=day(17), shown=10, accepted=count)

        rows = side(team=team, start_date=START, end_date=END, limit=limit)

        assert [row["suggestions_accepted"] for row in rows] == accepted

    @pytest.mark.django_db
    def test_unicode_names_sort_by_codepoint_on_ties(self, team, side):
        """Names come through unchanged; ties sort in Python string order: upper case, lower case, then accented."""
        zhang = TeamMemberFactory(team=team, display_name="张伟")
        emilie = TeamMemberFactory(team=team, display_name="Émilie")
        lower = TeamMemberFactory(team=team, display_name="ana")
        upper = TeamMemberFactory(team=team, display_name="Zoe")
        lukasz = TeamMemberFactory(team=team, display_name="Łukasz")
        for member in (zhang, emilie, lower, upper, lukasz):
            usage(member, on=day(17), shown=10, accepted=3)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["member_name"]) for row in rows] == [
            (upper.pk, "Zoe"),
            (lower.pk, "ana"),
            (emilie.pk, "Émilie"),
            (lukasz.pk, "Łukasz"),
            (zhang.pk, "张伟"),
        ]

    @pytest.mark.django_db
    def test_dates_are_compared_as_they_are_whatever_the_team_timezone(self, side):
        """Usage dates are GitHub's calendar days: both range dates are inclusive, with no shift for the team's zone."""
        team = TeamFactory(timezone="Asia/Tokyo")
        member = TeamMemberFactory(team=team)
        usage(member, on=day(15), shown=1, accepted=1)
        usage(member, on=day(16), shown=10, accepted=2)
        usage(member, on=day(22), shown=10, accepted=4)
        usage(member, on=day(23), shown=100, accepted=100)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["suggestions_shown"], row["suggestions_accepted"]) for row in rows] == [(20, 6)]

    @pytest.mark.django_db
    def test_bots_are_left_out(self, team, side):
        """Declared change, both sides: a bot with Copilot usage gets no row; a human with the same usage does."""
        human = TeamMemberFactory(team=team, display_name="Ana")
        bot = TeamMemberFactory(team=team, display_name="dependabot", github_username="dependabot[bot]")
        for member in (human, bot):
            usage(member, on=day(17), shown=10, accepted=5)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["suggestions_accepted"]) for row in rows] == [(human.pk, 5)]

    @pytest.mark.django_db
    def test_duplicate_logins_across_teams_stay_apart(self, team, other_team, side):
        """The same person (same login, GitHub id and name) in two teams: each team sees only its own usage."""
        mine = TeamMemberFactory(team=team, display_name="Dana", github_username="dana", github_id="42")
        theirs = TeamMemberFactory(team=other_team, display_name="Dana", github_username="dana", github_id="42")
        usage(mine, on=day(17), shown=10, accepted=1)
        usage(theirs, on=day(17), shown=1000, accepted=900)
        usage(theirs, on=day(18), shown=1000, accepted=900)

        rows = side(team=team, start_date=START, end_date=END)

        assert [(row["member_id"], row["suggestions_shown"], row["suggestions_accepted"]) for row in rows] == [
            (mine.pk, 10, 1)
        ]

    # --- demo data --------------------------------------------------------------------

    @pytest.mark.django_db
    def test_demo_data_gives_rows_to_compare(self, demo_teams):
        """Guard for the demo comparisons: over the whole history every demo team has more Copilot users than 5."""
        rows = [
            optimized.get_copilot_by_member(
                team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20), limit=100
            )
            for team in demo_teams
        ]

        assert [len(team_rows) > 5 for team_rows in rows] == [True, True]
