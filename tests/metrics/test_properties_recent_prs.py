"""Property-based contract cases of metrics.recent_prs: generated PRs, ranges and limits, legacy against optimized.

The data and the way each example runs (its own rolled-back savepoint, each side in one more) are
described in tests/support/strategies.py.
"""

from __future__ import annotations

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
    property_settings,
    run_both,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIR = dashboard.get_recent_prs
# The edge values first (the default, one row, none, negative), then cuts and no cut.
LIMITS = (10, 1, 0, -1, 3, -3, 50)


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange, int]:
    zone = draw(st.sampled_from(ZONES))
    span = draw(date_ranges(zone, draw(st.sampled_from(SEASONS))))
    # PRs merged at the range's bounds, and others at instants that often coincide (ties on merge time).
    spec = draw(
        team_specs(zone=zone, days=span.data_days(), merged_at=span.boundary_moments(), prs=(0, 14), surveys=False)
    )
    return spec, span, draw(st.sampled_from(LIMITS))


@property_settings(max_examples=50)
@given(case=cases())
def test_both_sides_agree_on_generated_prs(case):
    """Rows, order (ties by id), authors (none, shared names) and the limit's cut agree; a negative limit is refused
    alike."""
    spec, span, limit = case
    with example_savepoint():
        built = build_team(spec)
        run_both(
            PAIR,
            {"team": built.team, "start_date": span.start, "end_date": span.end, "limit": limit},
            expect_error=limit < 0,
        )
