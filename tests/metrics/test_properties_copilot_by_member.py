"""Property-based contract cases of metrics.copilot_by_member: generated usage, ranges and limits, legacy against optimized.

The data and the way each example runs (its own rolled-back savepoint, each side in one more) are
described in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.models import AIUsageDaily
from apps.metrics.services import dashboard
from tests.support.strategies import (
    SEASONS,
    ZONES,
    DateRange,
    MemberSpec,
    TeamSpec,
    UsageSpec,
    build_team,
    date_ranges,
    example_savepoint,
    property_settings,
    run_both,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIR = dashboard.get_copilot_by_member
# The edge values first (the default, one row, none, all but the last), then cuts and no cut.
LIMITS = (10, 1, 0, -1, 3, -3, 50)


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, DateRange, int]:
    zone = draw(st.sampled_from(ZONES))
    span = draw(date_ranges(zone, draw(st.sampled_from(SEASONS))))
    # Usage days are calendar dates: the day before, the first, the last and the day after the range.
    bounds = [span.start - dt.timedelta(days=1), span.start, span.end]
    if not span.no_data_after_end:
        bounds.append(span.end + dt.timedelta(days=1))
    spec = draw(team_specs(zone=zone, days=span.data_days(), prs=(0, 0), surveys=False, usage=bounds, members=(1, 8)))
    return spec, span, draw(st.sampled_from(LIMITS))


@property_settings(max_examples=50)
@given(case=cases())
def test_both_sides_agree_on_generated_usage(case):
    """Rows, order, sums and half-cent rates agree for any usage, range and limit (1, 0, -1 included)."""
    spec, span, limit = case
    with example_savepoint():
        built = build_team(spec)
        run_both(PAIR, {"team": built.team, "start_date": span.start, "end_date": span.end, "limit": limit})


TIED_MEMBERS = 30
DAY = dt.date(2026, 11, 1)
# Names that tie, and that order differently by codepoint and by locale ("Zoe" < "ana" < "Émilie" by codepoint).
TIED_NAMES = ("Sam", "sam", "Zoe", "ana", "Émilie", "")


@st.composite
def tied_usage(draw: st.DrawFn) -> TeamSpec:
    """30 members tied on accepted suggestions (a few groups), few names, usage inserted in an unexpected order."""
    names = draw(st.lists(st.sampled_from(TIED_NAMES), min_size=TIED_MEMBERS, max_size=TIED_MEMBERS))
    accepted = draw(st.lists(st.sampled_from((5, 5, 7)), min_size=TIED_MEMBERS, max_size=TIED_MEMBERS))
    id_order = tuple(draw(st.permutations(range(TIED_MEMBERS))))
    insertion = tuple(draw(st.permutations(range(TIED_MEMBERS))))
    # The documented order: accepted desc, then name in Python (codepoint) order, then member id.
    expected = tuple(sorted(range(TIED_MEMBERS), key=lambda member: (-accepted[member], names[member], id_order[member])))
    if insertion == expected:
        insertion = expected[::-1]
    usage = tuple(
        UsageSpec(member=member, day=DAY, source="copilot", shown=draw(st.sampled_from((800, 32, 0))), accepted=accepted[member])
        for member in insertion
    )
    members = tuple(MemberSpec(name=name, login=f"dev{position}") for position, name in enumerate(names))
    return TeamSpec(zone=draw(st.sampled_from(ZONES)), members=members, id_order=id_order, usage=usage, twin=False)


# Cuts through the tied rows, around the row count, and the edge values.
TIED_LIMITS = (1, 0, -1, 10, 29, 30, 31)


@property_settings(max_examples=5)
@given(spec=tied_usage())
def test_ties_are_cut_by_name_then_id_on_both_sides(spec):
    """30 members tied on accepted suggestions: both sides break ties by name, then id, and cut at the same row."""
    with example_savepoint():
        built = build_team(spec)
        kwargs = {"team": built.team, "start_date": DAY, "end_date": DAY}
        runs = {limit: run_both(PAIR, {**kwargs, "limit": limit})[0] for limit in TIED_LIMITS}
        order = [row["member_id"] for row in runs[TIED_MEMBERS].value]
        # The premise: the rows were inserted (in id order) in another order than the expected one, so only the
        # tie rule gives it. An unordered read proves nothing: once the table is vacuumed the planner may read the
        # team's rows from an index that holds member_id, in member_id order.
        inserted = list(AIUsageDaily.objects.filter(team=built.team).order_by("id").values_list("member_id", flat=True))
        assert inserted != order
        assert order == [
            row["member_id"]
            for row in sorted(
                runs[TIED_MEMBERS].value, key=lambda row: (-row["suggestions_accepted"], row["member_name"], row["member_id"])
            )
        ]
        assert {limit: [row["member_id"] for row in run.value] for limit, run in runs.items()} == {
            limit: order[:limit] for limit in TIED_LIMITS
        }
