"""Property-based contract cases of metrics.key_metrics: generated PRs, surveys and ranges, legacy against optimized.

The result is one dict per period, so there is no row order and no tie rule to test. The optimized
side caches per team and range: each example starts with empty caches, compares the optimized
computation (what sampled comparisons run) and the served side, then a second range sharing a
bound with the first (an entry read back under the wrong range would show), then the first range
again after a write to the team's rows (an entry that outlived the write would show). The data and
the way each example runs are described in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.services import dashboard
from apps.metrics.services.common import previous_period
from tests.factories import PRSurveyFactory, PullRequestFactory
from tests.support.strategies import (
    SEASONS,
    ZONES,
    DateRange,
    Moment,
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

PAIR = dashboard.get_key_metrics_with_previous


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange, DateRange]:
    zone = draw(st.sampled_from(ZONES))
    season = draw(st.sampled_from(SEASONS))
    span = draw(date_ranges(zone, season))
    other = draw(date_ranges(zone, season))
    # The second range shares the first's start or end (or is the same), as dashboard ranges do.
    shared = draw(st.sampled_from(("end", "start", "same")))
    if shared == "end":
        other = DateRange(start=min(other.start, span.end), end=span.end, shape=other.shape)
    elif shared == "start":
        other = DateRange(start=span.start, end=max(other.end, span.start), shape=other.shape)
    else:
        other = span
    previous_start, _previous_end = previous_period(span.start, span.end)
    # The previous period ends where the current one starts: its first instant, and the last one before it.
    bounds = (*span.boundary_moments(), Moment(previous_start), Moment(previous_start, "just_before_local_midnight"))
    spec = draw(
        team_specs(
            zone=zone,
            days=span.data_days(previous_start),
            merged_at=bounds,
            prs=(0, 12),
            rating_block_at=(Moment(span.start), Moment(previous_start)),
        )
    )
    if draw(st.booleans()):
        # Each period's mean cycle time ends in a half cent.
        start, end = local_midnight(zone, span.start), local_midnight(zone, span.end + dt.timedelta(days=1))
        current = merged_between(zone, start, end)
        previous = merged_between(zone, local_midnight(zone, previous_start), start)
        spec = replace(
            spec,
            prs=half_cent_means(spec.prs, lambda pr: "current" if current(pr) else "previous" if previous(pr) else None),
        )
    return spec, span, other


@property_settings(max_examples=40)
@given(case=cases())
def test_both_sides_agree_on_generated_teams(case):
    """Both periods' counts, averages (half cents included), ratings and AI % agree, on a cache miss and after."""
    spec, span, other = case
    with example_savepoint():
        built = build_team(spec)
        first = {"team": built.team, "start_date": span.start, "end_date": span.end}
        # What sampled comparisons run (the optimized side without its cache), then the served side: a miss.
        run_both(PAIR.computing(), first)
        run_both(PAIR, first)
        run_both(PAIR, {"team": built.team, "start_date": other.start, "end_date": other.end})
        # A write to the team's rows after the entry was stored: the served side must not answer from it.
        PRSurveyFactory(
            pull_request=PullRequestFactory(
                team=built.team,
                author=built.members[0],
                merged_at=Moment(span.start).at(spec.zone),
                cycle_time_hours=Decimal("10.01"),
            ),
            author_ai_assisted=True,
        )
        run_both(PAIR, first)


@st.composite
def rated_cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange]:
    """Only 40 quality ratings with an odd sum, in the current or the previous period, at a bound."""
    zone = draw(st.sampled_from(ZONES))
    span = draw(date_ranges(zone, draw(st.sampled_from(SEASONS))))
    previous_start, _previous_end = previous_period(span.start, span.end)
    bounds = (Moment(span.start), Moment(span.end + dt.timedelta(days=1), "just_before_local_midnight"), Moment(previous_start))
    spec = draw(
        team_specs(
            zone=zone, days=span.data_days(), members=(1, 2), prs=(0, 0), rating_block_at=bounds, rating_block_always=True
        )
    )
    return spec, span


@property_settings(max_examples=10)
@given(case=rated_cases())
def test_quality_ratings_whose_mean_ends_in_a_half_cent_round_alike(case):
    """40 ratings averaging to x.xx5 (2.675 among them, which a float rounds down): both sides round alike."""
    spec, span = case
    with example_savepoint():
        built = build_team(spec)
        kwargs = {"team": built.team, "start_date": span.start, "end_date": span.end}
        run_both(PAIR.computing(), kwargs)
        run_both(PAIR, kwargs)
