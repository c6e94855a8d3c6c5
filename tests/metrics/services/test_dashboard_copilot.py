"""Legacy dashboard services: Copilot totals (get_copilot_metrics, not a pair).

Usage rows are per calendar date; the range used throughout is 2026-11-16 to
2026-11-22, both inclusive. Copilot usage per member is a pair, tested on both
sides by tests/metrics/contracts/test_copilot_by_member.py.
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
