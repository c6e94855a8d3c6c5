"""Property-based contract cases of the weekly trend pairs (cycle time, review time, AI adoption), legacy against
optimized, on the same generated teams and ranges.

Ranges are single days, weeks, any span, and spans across a zone's offset change, so the first and
last weeks are clipped in every way and some weeks have 23 or 25 hours more or less than others.
The data and the way each example runs are described in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.services import dashboard
from tests.support.strategies import (
    SEASONS,
    ZONES,
    DateRange,
    TeamSpec,
    build_team,
    date_ranges,
    example_savepoint,
    half_cent_means,
    local_midnight,
    merged_between,
    property_settings,
    run_both,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIRS = (dashboard.get_cycle_time_trend, dashboard.get_review_time_trend, dashboard.get_ai_adoption_trend)


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange]:
    zone = draw(st.sampled_from(ZONES))
    span = draw(date_ranges(zone, draw(st.sampled_from(SEASONS))))
    # Mondays inside the range are week bounds too: data clusters around them as around the range's bounds.
    mondays = [
        span.start + dt.timedelta(days=offset)
        for offset in range((span.end - span.start).days + 1)
        if (span.start + dt.timedelta(days=offset)).weekday() == 0
    ]
    spec = draw(team_specs(zone=zone, days=span.data_days(*mondays), merged_at=span.boundary_moments(), prs=(0, 14)))
    if draw(st.booleans()):
        # Each week's mean cycle and review time ends in a half cent.
        in_range = merged_between(zone, local_midnight(zone, span.start), local_midnight(zone, span.end + dt.timedelta(days=1)))

        def week_of(pr):
            if not in_range(pr):
                return None
            day = pr.merged.at(zone).astimezone(zoneinfo.ZoneInfo(zone)).date()
            return day - dt.timedelta(days=day.weekday())

        spec = replace(spec, prs=half_cent_means(spec.prs, week_of, fields=("cycle_cents", "review_cents")))
    return spec, span


@property_settings(max_examples=60)
@given(case=cases())
def test_all_three_trends_agree_on_generated_teams(case):
    """Weeks, clipping, counts, means (half cents included) and AI % agree on both sides of each trend pair."""
    spec, span = case
    with example_savepoint():
        built = build_team(spec)
        for pair in PAIRS:
            run_both(pair, {"team": built.team, "start_date": span.start, "end_date": span.end})
