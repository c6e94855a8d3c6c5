"""Legacy dashboard services: Copilot totals and Copilot usage per member.

Usage rows are per calendar date; the range used throughout is 2026-11-16 to
2026-11-22, both inclusive.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apps.metrics.models import AIUsageDaily
from apps.metrics.services.dashboard import legacy
from tests.factories import AIUsageDailyFactory, TeamMemberFactory

START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


def usage(member, *, on: dt.date, shown: int, accepted: int, **kwargs) -> AIUsageDaily:
    return AIUsageDailyFactory(
        team=member.team, member=member, date=on, suggestions_shown=shown, suggestions_accepted=accepted, **kwargs
    )


# --- get_copilot_metrics ---------------------------------------------------------


@pytest.mark.django_db
def test_copilot_metrics_on_hand_built_data(team):
    """Sums Copilot rows in range, rate = accepted ÷ shown × 100, active = members with something shown."""
    ana = TeamMemberFactory(team=team)
    bruno = TeamMemberFactory(team=team)
    carla = TeamMemberFactory(team=team)
    usage(ana, on=day(16), shown=100, accepted=30)
    usage(ana, on=day(22), shown=50, accepted=20)
    usage(bruno, on=day(18), shown=0, accepted=0)
    usage(carla, on=day(19), shown=150, accepted=0)
    # Cursor rows and rows outside the range are ignored.
    usage(bruno, on=day(18), shown=500, accepted=500, source=AIUsageDaily.Source.CURSOR)
    usage(bruno, on=day(15), shown=500, accepted=500)
    usage(bruno, on=day(23), shown=500, accepted=500)

    result = legacy.get_copilot_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "total_shown": 300,
        "total_accepted": 50,
        "acceptance_rate": Decimal("16.67"),
        "active_members": 2,
    }


@pytest.mark.django_db
def test_copilot_metrics_empty_team(team):
    """No usage: zero totals, no rate, no active member."""
    result = legacy.get_copilot_metrics(team=team, start_date=START, end_date=END)

    assert result == {"total_shown": 0, "total_accepted": 0, "acceptance_rate": None, "active_members": 0}


@pytest.mark.django_db
def test_copilot_metrics_zero_suggestions(team):
    """Usage rows that show nothing: rate is None (not 0.00) and nobody is active."""
    usage(TeamMemberFactory(team=team), on=day(17), shown=0, accepted=0)

    result = legacy.get_copilot_metrics(team=team, start_date=START, end_date=END)

    assert result == {"total_shown": 0, "total_accepted": 0, "acceptance_rate": None, "active_members": 0}


@pytest.mark.django_db
def test_copilot_metrics_single_member(team):
    """One member over several days is one active member."""
    member = TeamMemberFactory(team=team)
    usage(member, on=day(16), shown=40, accepted=10)
    usage(member, on=day(17), shown=40, accepted=10)

    result = legacy.get_copilot_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "total_shown": 80,
        "total_accepted": 20,
        "acceptance_rate": Decimal("25.00"),
        "active_members": 1,
    }


@pytest.mark.django_db
def test_copilot_metrics_ignore_other_teams(team, other_team):
    """Another team's usage never counts."""
    usage(TeamMemberFactory(team=team), on=day(17), shown=10, accepted=5)
    usage(TeamMemberFactory(team=other_team), on=day(17), shown=1000, accepted=1000)

    result = legacy.get_copilot_metrics(team=team, start_date=START, end_date=END)

    assert result == {
        "total_shown": 10,
        "total_accepted": 5,
        "acceptance_rate": Decimal("50.00"),
        "active_members": 1,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("members", [2, 6])
def test_copilot_metrics_query_count_is_constant(team, django_assert_num_queries, members):
    """Two queries (totals, active members) whatever the team size."""
    for _ in range(members):
        usage(TeamMemberFactory(team=team), on=day(17), shown=10, accepted=5)

    with django_assert_num_queries(2):
        legacy.get_copilot_metrics(team=team, start_date=START, end_date=END)


# --- get_copilot_by_member -------------------------------------------------------


@pytest.mark.django_db
def test_copilot_by_member_on_hand_built_data(team):
    """Per-member sums and rate, sorted by accepted desc, then name, then id."""
    bruno = TeamMemberFactory(team=team, display_name="Bruno")
    ana = TeamMemberFactory(team=team, display_name="Ana")
    carla = TeamMemberFactory(team=team, display_name="Carla")
    dora = TeamMemberFactory(team=team, display_name="Dora")
    usage(ana, on=day(16), shown=100, accepted=30)
    usage(ana, on=day(22), shown=60, accepted=20)
    usage(bruno, on=day(18), shown=200, accepted=50)
    usage(carla, on=day(18), shown=0, accepted=0)
    usage(dora, on=day(19), shown=10, accepted=9)
    usage(dora, on=day(23), shown=1000, accepted=1000)
    usage(carla, on=day(18), shown=500, accepted=500, source=AIUsageDaily.Source.CURSOR)

    rows = legacy.get_copilot_by_member(team=team, start_date=START, end_date=END)

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
def test_copilot_by_member_limit_applies_after_sorting(team):
    """`limit` keeps the top rows of the sorted list; same accepted and name fall back to member id."""
    first = TeamMemberFactory(team=team, display_name="Sam")
    second = TeamMemberFactory(team=team, display_name="Sam")
    top = TeamMemberFactory(team=team, display_name="Zoe")
    usage(second, on=day(17), shown=10, accepted=5)
    usage(first, on=day(17), shown=20, accepted=5)
    usage(top, on=day(17), shown=10, accepted=10)

    rows = legacy.get_copilot_by_member(team=team, start_date=START, end_date=END, limit=2)

    assert [row["member_id"] for row in rows] == [top.pk, first.pk]


@pytest.mark.django_db
def test_copilot_by_member_default_limit_is_ten(team):
    """Without a limit, the ten members with most accepted suggestions."""
    members = [TeamMemberFactory(team=team) for _ in range(12)]
    for accepted, member in enumerate(members):
        usage(member, on=day(17), shown=100, accepted=accepted)

    rows = legacy.get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [row["suggestions_accepted"] for row in rows] == [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]


@pytest.mark.django_db
def test_copilot_by_member_empty_team(team):
    """No usage: no rows."""
    assert legacy.get_copilot_by_member(team=team, start_date=START, end_date=END) == []


@pytest.mark.django_db
def test_copilot_by_member_unicode_names(team):
    """Non-ASCII names come through unchanged and sort by codepoint on ties."""
    zhang = TeamMemberFactory(team=team, display_name="张伟")
    emilie = TeamMemberFactory(team=team, display_name="Émilie")
    usage(zhang, on=day(17), shown=10, accepted=3)
    usage(emilie, on=day(17), shown=10, accepted=3)

    rows = legacy.get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["member_name"]) for row in rows] == [(emilie.pk, "Émilie"), (zhang.pk, "张伟")]


@pytest.mark.django_db
def test_copilot_by_member_ignores_other_teams(team, other_team):
    """Another team's members and usage never appear."""
    member = TeamMemberFactory(team=team)
    usage(member, on=day(17), shown=10, accepted=1)
    usage(TeamMemberFactory(team=other_team), on=day(17), shown=1000, accepted=900)

    rows = legacy.get_copilot_by_member(team=team, start_date=START, end_date=END)

    assert [(row["member_id"], row["suggestions_shown"]) for row in rows] == [(member.pk, 10)]


@pytest.mark.django_db
@pytest.mark.parametrize(("members", "queries"), [(2, 5), (6, 13)])
def test_copilot_by_member_query_count_grows_per_member(team, django_assert_num_queries, members, queries):
    """The "before" the optimized twin improves on: one query for the members, then two per member.

    The limit does not help: every member is loaded before sorting.
    """
    for _ in range(members):
        member = TeamMemberFactory(team=team)
        usage(member, on=day(17), shown=10, accepted=5)
        usage(member, on=day(18), shown=10, accepted=5)

    with django_assert_num_queries(queries):
        legacy.get_copilot_by_member(team=team, start_date=START, end_date=END, limit=1)
