"""Contract of the metrics.copilot_by_member pair, run against both sides.

Every behaviour test runs once with the legacy function and once with the
optimized twin; both must give exactly the rows written here. Usage rows are
per calendar date; the range used throughout is 2026-11-16 to 2026-11-22,
both inclusive.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

import shadow
from apps.metrics.models import AIUsageDaily
from apps.metrics.services import dashboard
from apps.metrics.services.dashboard import legacy, optimized
from apps.teams.models import Team
from shadow import pairs as registry
from shadow.checks import signature_problems
from tests.factories import AIUsageDailyFactory, TeamFactory, TeamMemberFactory

PAIR = "metrics.copilot_by_member"
START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


def usage(member, *, on: dt.date, shown: int, accepted: int, **kwargs) -> AIUsageDaily:
    return AIUsageDailyFactory(
        team=member.team, member=member, date=on, suggestions_shown=shown, suggestions_accepted=accepted, **kwargs
    )


@pytest.fixture(params=["legacy", "optimized"])
def get_copilot_by_member(request):
    """One side of the registered pair, called directly (no flag, no shadow run)."""
    return getattr(registry.get(PAIR), request.param)


# --- registration ----------------------------------------------------------------


def test_entry_point_is_the_registered_pair():
    """Views call dashboard.get_copilot_by_member: it is the pair, with legacy.py and optimized.py as its sides."""
    pair = registry.get(PAIR)

    assert dashboard.get_copilot_by_member is pair
    assert (pair.legacy, pair.optimized) == (legacy.get_copilot_by_member, optimized.get_copilot_by_member)
    assert signature_problems(pair) == []
    assert str(inspect.signature(optimized.get_copilot_by_member)) == (
        "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date', limit: 'int' = 10) -> 'list[dict]'"
    )


@pytest.mark.django_db
def test_examples_are_the_last_7_30_and_90_days_ending_on_one_day():
    """`rollout verify` compares the last 7, 30 and 90 days, all ending on the same (team-local) today."""
    examples = registry.get(PAIR).examples(TeamFactory(timezone="America/New_York"))

    assert [(example["end_date"] - example["start_date"]).days + 1 for example in examples] == [7, 30, 90]
    assert len({example["end_date"] for example in examples}) == 1


# --- behaviour, both sides ---------------------------------------------------------


@pytest.mark.django_db
def test_rows_on_hand_built_data(team, other_team, get_copilot_by_member):
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

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

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
def test_value_types_and_two_decimal_places(team, get_copilot_by_member):
    """Sums are ints; the rate is a Decimal with two places, rounded half up (1 of 8 is 12.50, 2 of 3 is 66.67)."""
    eighth = TeamMemberFactory(team=team, display_name="Eighth")
    two_thirds = TeamMemberFactory(team=team, display_name="Two thirds")
    usage(eighth, on=day(16), shown=8, accepted=1)
    usage(two_thirds, on=day(16), shown=3, accepted=2)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

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
def test_half_up_rounding(team, get_copilot_by_member):
    """1 of 200 accepted is 0.5 %, shown as 0.50; 1 of 8 000 is 0.0125 %, rounded half up to 0.01."""
    member = TeamMemberFactory(team=team, display_name="A")
    other = TeamMemberFactory(team=team, display_name="B")
    usage(member, on=day(16), shown=200, accepted=1)
    usage(other, on=day(16), shown=8000, accepted=1)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["acceptance_rate"]) for row in rows] == [
        (member.pk, Decimal("0.50")),
        (other.pk, Decimal("0.01")),
    ]


@pytest.mark.django_db
def test_empty_team(team, get_copilot_by_member):
    """No usage: no rows."""
    assert get_copilot_by_member(team=team, start_date=START, end_date=END) == []


@pytest.mark.django_db
def test_single_member_over_several_days(team, get_copilot_by_member):
    """One member's days add up into one row; a member without usage gets none."""
    member = TeamMemberFactory(team=team, display_name="Solo")
    TeamMemberFactory(team=team, display_name="Idle")
    usage(member, on=day(16), shown=40, accepted=10)
    usage(member, on=day(17), shown=40, accepted=10)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

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
def test_limit_applies_after_sorting(team, get_copilot_by_member):
    """`limit` keeps the top rows of the sorted list; same accepted and name fall back to member id."""
    first = TeamMemberFactory(team=team, display_name="Sam")
    second = TeamMemberFactory(team=team, display_name="Sam")
    top = TeamMemberFactory(team=team, display_name="Zoe")
    usage(second, on=day(17), shown=10, accepted=5)
    usage(first, on=day(17), shown=20, accepted=5)
    usage(top, on=day(17), shown=10, accepted=10)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END, limit=2)

    assert [row["member_id"] for row in rows] == [top.pk, first.pk]


@pytest.mark.django_db
def test_default_limit_is_ten(team, get_copilot_by_member):
    """Without a limit, the ten members with most accepted suggestions."""
    members = [TeamMemberFactory(team=team) for _ in range(12)]
    for accepted, member in enumerate(members):
        usage(member, on=day(17), shown=100, accepted=accepted)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

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
def test_limit_edge_values(team, get_copilot_by_member, limit, accepted):
    """limit 0 gives no rows, a limit above the row count gives them all, a negative one slices like a list."""
    for count in (1, 2, 3):
        usage(TeamMemberFactory(team=team), on=day(17), shown=10, accepted=count)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END, limit=limit)

    assert [row["suggestions_accepted"] for row in rows] == accepted


@pytest.mark.django_db
def test_unicode_names_sort_by_codepoint_on_ties(team, get_copilot_by_member):
    """Names come through unchanged; ties sort in Python string order: upper case, lower case, then accented."""
    zhang = TeamMemberFactory(team=team, display_name="张伟")
    emilie = TeamMemberFactory(team=team, display_name="Émilie")
    lower = TeamMemberFactory(team=team, display_name="ana")
    upper = TeamMemberFactory(team=team, display_name="Zoe")
    lukasz = TeamMemberFactory(team=team, display_name="Łukasz")
    for member in (zhang, emilie, lower, upper, lukasz):
        usage(member, on=day(17), shown=10, accepted=3)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["member_name"]) for row in rows] == [
        (upper.pk, "Zoe"),
        (lower.pk, "ana"),
        (emilie.pk, "Émilie"),
        (lukasz.pk, "Łukasz"),
        (zhang.pk, "张伟"),
    ]


@pytest.mark.django_db
def test_dates_are_compared_as_they_are_whatever_the_team_timezone(get_copilot_by_member):
    """Usage dates are GitHub's calendar days: both range dates are inclusive, with no shift for the team's zone."""
    team = TeamFactory(timezone="Asia/Tokyo")
    member = TeamMemberFactory(team=team)
    usage(member, on=day(15), shown=1, accepted=1)
    usage(member, on=day(16), shown=10, accepted=2)
    usage(member, on=day(22), shown=10, accepted=4)
    usage(member, on=day(23), shown=100, accepted=100)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [(row["suggestions_shown"], row["suggestions_accepted"]) for row in rows] == [(20, 6)]


@pytest.mark.django_db
def test_duplicate_logins_across_teams_stay_apart(team, other_team, get_copilot_by_member):
    """The same person (same login, GitHub id and name) in two teams: each team sees only its own usage."""
    mine = TeamMemberFactory(team=team, display_name="Dana", github_username="dana", github_id="42")
    theirs = TeamMemberFactory(team=other_team, display_name="Dana", github_username="dana", github_id="42")
    usage(mine, on=day(17), shown=10, accepted=1)
    usage(theirs, on=day(17), shown=1000, accepted=900)
    usage(theirs, on=day(18), shown=1000, accepted=900)

    rows = get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["suggestions_shown"], row["suggestions_accepted"]) for row in rows] == [
        (mine.pk, 10, 1)
    ]


# --- query budgets -----------------------------------------------------------------


def members_with_usage(team, members: int) -> None:
    """`members` members, each with two Copilot days in range."""
    for _ in range(members):
        member = TeamMemberFactory(team=team)
        usage(member, on=day(17), shown=10, accepted=5)
        usage(member, on=day(18), shown=10, accepted=5)


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "rows_returned"), [(5, 5), (50, 10)])
def test_optimized_query_count_is_constant(team, django_assert_num_queries, members, rows_returned):
    """The optimized side issues one grouped query with LIMIT, whatever the number of members."""
    members_with_usage(team, members)

    with django_assert_num_queries(1):
        rows = optimized.get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert len(rows) == rows_returned


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "queries"), [(5, 11), (50, 101)])
def test_legacy_query_count_grows_per_member(team, django_assert_num_queries, members, queries):
    """The "before": legacy issues 1 query for the members, then 2 per member, whatever the limit."""
    members_with_usage(team, members)

    with django_assert_num_queries(queries):
        legacy.get_copilot_by_member(team=team, start_date=START, end_date=END)


# --- shadow comparison on demo data ----------------------------------------------------


@pytest.fixture
def demo_teams(db) -> list[Team]:
    call_command(
        "seed_demo", "--teams", "2", "--members", "12", "--prs", "300", "--days", "30",
        "--end-date", "2026-11-20", stdout=io.StringIO(),
    )
    return list(Team.objects.filter(slug__startswith="demo-").order_by("slug"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "limit"),
    [
        (dt.date(2026, 10, 22), dt.date(2026, 11, 20), 10),  # the whole seeded history
        (dt.date(2026, 10, 22), dt.date(2026, 11, 20), 5),  # the whole history, cut by the limit
        (dt.date(2026, 11, 14), dt.date(2026, 11, 20), 3),  # the last week, top three
        (dt.date(2026, 11, 20), dt.date(2026, 11, 20), 10),  # the last day alone
        (dt.date(2026, 9, 1), dt.date(2026, 12, 31), 10),  # wider than the data on both sides
    ],
)
def test_shadow_comparison_matches_on_demo_data(demo_teams, start, end, limit):
    """On seeded demo data (weekend usage, zero-suggestion days, inactive members, bots) both sides agree.

    The optimized side uses one query where legacy uses 1 + 2 per member with usage.
    """
    comparisons = [
        shadow.compare(PAIR, team=team, start_date=start, end_date=end, limit=limit) for team in demo_teams
    ]

    assert [(comparison.team_slug, comparison.outcome, comparison.diff) for comparison in comparisons] == [
        ("demo-1", "match", []),
        ("demo-2", "match", []),
    ]
    assert [comparison.optimized.measurement.queries for comparison in comparisons] == [1, 1]


@pytest.mark.django_db
def test_demo_data_gives_rows_to_compare(demo_teams):
    """Guard for the comparison above: over the whole history every demo team has more Copilot users than 5."""
    rows = [
        optimized.get_copilot_by_member(
            team=team, start_date=dt.date(2026, 10, 22), end_date=dt.date(2026, 11, 20), limit=100
        )
        for team in demo_teams
    ]

    assert [len(team_rows) > 5 for team_rows in rows] == [True, True]
