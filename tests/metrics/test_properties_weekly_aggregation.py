"""Property-based contract cases of metrics.weekly_aggregation: generated weeks of work, legacy against optimized.

A write pair: each side runs in its own rolled-back savepoint, and both its return value and the
rows it leaves are compared (the pair's snapshot, and the whole WeeklyMetrics table with the ids
of rows that existed before, so an update in place is told from a delete and insert). Rows are
ordered by member id, and member ids are handed out in a drawn order, so the database's natural
order of the members is not the id order. The data and the way each example runs are described
in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.models import TeamMember, WeeklyMetrics
from apps.metrics.services import weekly_aggregation
from apps.metrics.services.weekly_aggregation.optimized import METRIC_FIELDS
from tests.support.strategies import (
    SEASONS,
    ZONES,
    MemberSpec,
    Moment,
    TeamSpec,
    around_bounds,
    build_team,
    example_savepoint,
    half_cent_means,
    local_midnight,
    merged_between,
    offset_change,
    property_settings,
    rows_of,
    run_both,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIR = weekly_aggregation.aggregate_team_weekly_metrics
WEEK = dt.timedelta(days=7)


def week_bounds(week_start: dt.date) -> tuple[Moment, ...]:
    """The week's first and last instants, and the instants just outside it, in the team's zone."""
    next_week = week_start + WEEK
    return (
        Moment(week_start),
        Moment(week_start, "just_before_local_midnight"),
        Moment(next_week, "just_before_local_midnight"),
        Moment(next_week),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, dt.date]:
    zone = draw(st.sampled_from(ZONES))
    season = draw(st.sampled_from(SEASONS))
    change = offset_change(zone, season)
    # The week holding the offset change (167 or 169 hours long), or any week of the season.
    mondays = [change - dt.timedelta(days=change.weekday()), *(season + WEEK * weeks for weeks in range(5))]
    week_start = draw(st.sampled_from(mondays))
    bounds = week_bounds(week_start)
    spec = draw(
        team_specs(
            zone=zone,
            days=around_bounds(week_start, week_start + WEEK, change),
            merged_at=bounds,
            commits=bounds,
            answered_at=bounds,
            weekly_weeks=(week_start, week_start - WEEK, week_start + WEEK),
            prs=(2, 12),
            rating_block_at=(Moment(week_start, "local_noon"),),
            members=(2, 7),
        )
    )
    if draw(st.booleans()):
        # Each member's mean cycle and review times of the week end in a half cent.
        in_week = merged_between(zone, local_midnight(zone, week_start), local_midnight(zone, week_start + WEEK))
        spec = replace(
            spec,
            prs=half_cent_means(spec.prs, lambda pr: pr.author if in_week(pr) else None, ("cycle_cents", "review_cents")),
        )
    return spec, week_start


def weekly_table(existing_ids: set[int]) -> list[tuple]:
    return rows_of(WeeklyMetrics, ["team_id", "member_id", "week_start", *METRIC_FIELDS], existing_ids=existing_ids)


@property_settings(max_examples=40)
@given(case=cases())
def test_both_sides_return_and_store_the_same_rows(case):
    """Returned rows, stored rows (new and updated in place) and untouched rows agree, whatever the week's data."""
    spec, week_start = case
    with example_savepoint():
        built = build_team(spec)
        existing = set(WeeklyMetrics.objects.values_list("id", flat=True))
        run_both(PAIR, {"team": built.team, "week_start": week_start}, observe=lambda: weekly_table(existing))


@property_settings(max_examples=5)
@given(
    spec=team_specs(zone="Europe/Berlin", days=around_bounds(dt.date(2026, 10, 19)), prs=(0, 3), members=(1, 3)),
    shift=st.integers(1, 6),
)
def test_a_week_start_that_is_not_a_monday_is_refused_alike(spec, shift):
    """Both sides refuse a week_start that is not a Monday with the same ValueError, and write nothing."""
    with example_savepoint():
        built = build_team(spec)
        existing = set(WeeklyMetrics.objects.values_list("id", flat=True))
        run_both(
            PAIR,
            {"team": built.team, "week_start": dt.date(2026, 10, 19) + dt.timedelta(days=shift)},
            observe=lambda: weekly_table(existing),
            expect_error=True,
        )


MANY_MEMBERS = 30


@st.composite
def many_members(draw: st.DrawFn) -> TeamSpec:
    """30 members, most active, ids handed out in an order other than the insertion order, some rows stored already."""
    # The first two are active for sure, the others mostly.
    active = [True, True, *(draw(st.sampled_from((True, True, False))) for _ in range(MANY_MEMBERS - 2))]
    id_order = tuple(draw(st.permutations(range(MANY_MEMBERS))))
    active_ranks = [rank for rank, is_active in zip(id_order, active) if is_active]
    if active_ranks == sorted(active_ranks):
        # Inserted in id order after all: reversed, the lowest id is inserted last.
        id_order = tuple(MANY_MEMBERS - 1 - rank for rank in id_order)
    members = tuple(
        MemberSpec(name="Sam", login=f"dev{position}", active=is_active) for position, is_active in enumerate(active)
    )
    week_start = dt.date(2026, 10, 19)
    spec = draw(
        team_specs(
            zone="Europe/Berlin",
            days=around_bounds(week_start, week_start + WEEK),
            merged_at=week_bounds(week_start),
            weekly_weeks=(week_start,),
            prs=(0, 5),
        )
    )
    return TeamSpec(
        zone=spec.zone, members=members, id_order=id_order, prs=spec.prs, weekly=spec.weekly, twin=False
    )


@property_settings(max_examples=4)
@given(spec=many_members())
def test_rows_come_in_member_id_order_on_both_sides(spec):
    """30 members inserted out of id order: both sides return (and store) one row per active member, by member id."""
    week_start = dt.date(2026, 10, 19)
    with example_savepoint():
        built = build_team(spec)
        existing = set(WeeklyMetrics.objects.values_list("id", flat=True))
        legacy, _optimized = run_both(
            PAIR, {"team": built.team, "week_start": week_start}, observe=lambda: weekly_table(existing)
        )
        order = [row["member_id"] for row in legacy.value]
        active = TeamMember.objects.filter(team=built.team, is_active=True)
        # The premise: the database's natural order of the members is not the id order.
        assert list(active.order_by().values_list("id", flat=True)) != order
        assert order == sorted(active.values_list("id", flat=True))
