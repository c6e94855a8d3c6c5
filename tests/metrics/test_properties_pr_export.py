"""Property-based contract cases of metrics.pr_export: generated PRs and filters, legacy against optimized.

A stream pair: each side's rows are consumed into a list inside its own rolled-back savepoint and
compared row for row, exactly (a sampled call compares the streams' digests). Filters come alone
or combined; dates are whole days in the team's zone, and PRs are created at and around their
bounds. Titles, names, Jira keys and tools are formula-like. The data and the way each example
runs are described in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.models import SIZE_BUCKETS, PullRequest
from apps.metrics.services import pr_export
from apps.metrics.services.pr_list import PRFilters
from tests.support.strategies import (
    AI_TOOLS,
    REPOS,
    SEASONS,
    ZONES,
    BuiltTeam,
    MemberSpec,
    Moment,
    PullRequestSpec,
    TeamSpec,
    around_bounds,
    build_team,
    example_savepoint,
    offset_change,
    property_settings,
    run_both,
    season_days,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIR = pr_export.iter_pr_export_rows
FILTER_NAMES = ("repo", "author", "reviewer", "is_ai_assisted", "ai_tool", "size", "state", "has_jira", "date_from", "date_to")


@dataclass(frozen=True)
class FilterSpec:
    """PRFilters by member index ("twin": the other team's member with the same name and login; "gone": no member)."""

    values: tuple[tuple[str, object], ...]

    def filters(self, built: BuiltTeam) -> PRFilters:
        kwargs = {}
        for name, value in self.values:
            if name in ("author", "reviewer"):
                if value == "twin":
                    value = built.twin.id if built.twin else 0
                elif value == "gone":
                    value = 0
                else:
                    value = built.members[value].id
                kwargs[f"{name}_id"] = value
            else:
                kwargs[name] = value
        return PRFilters(**kwargs)


@st.composite
def filter_specs(draw: st.DrawFn, members: int, days: tuple[dt.date, ...], alone: str | None) -> FilterSpec:
    """Filter `alone` by itself, or (when None) no filter or two to four combined."""
    if alone is not None:
        names = [alone]
    elif draw(st.sampled_from((True, True, True, False))):
        names = draw(st.lists(st.sampled_from(FILTER_NAMES), min_size=2, max_size=4, unique=True))
    else:
        return FilterSpec(())
    member = st.one_of(st.integers(0, members - 1), st.sampled_from(("twin", "gone")))
    choices = {
        "repo": st.sampled_from((*REPOS, "acme/none")),
        "author": member,
        "reviewer": member,
        "is_ai_assisted": st.booleans(),
        "ai_tool": st.sampled_from(tuple(sorted({tool for tools in AI_TOOLS for tool in tools} | {"nothing"}))),
        "size": st.sampled_from(tuple(label for label, _upper in SIZE_BUCKETS)),
        "state": st.sampled_from(tuple(PullRequest.State.values)),
        "has_jira": st.booleans(),
        "date_from": st.sampled_from(days),
        "date_to": st.sampled_from(days),
    }
    return FilterSpec(tuple((name, draw(choices[name])) for name in sorted(names)))


@st.composite
def cases(draw: st.DrawFn, alone: str | None = None) -> tuple[TeamSpec, FilterSpec]:
    zone = draw(st.sampled_from(ZONES))
    season = draw(st.sampled_from(SEASONS))
    change = offset_change(zone, season)
    date_from = draw(st.sampled_from((change, *season_days(season))))
    date_to = date_from + dt.timedelta(days=draw(st.sampled_from((0, 1, 7))))
    next_day = date_to + dt.timedelta(days=1)
    # Created at the date filters' bounds: the first instant in, the last in, and the ones just outside.
    bounds = (
        Moment(date_from),
        Moment(date_from, "just_before_local_midnight"),
        Moment(next_day, "just_before_local_midnight"),
        Moment(next_day),
    )
    days = around_bounds(date_from, next_day, change)
    spec = draw(team_specs(zone=zone, days=days, created_at=bounds, reviews=True, export_text=True, prs=(0, 12)))
    # Date filters on the drawn bounds mostly, any season day sometimes (an inverted range included).
    filter_days = (date_from, date_to, change, *days)
    return spec, draw(filter_specs(len(spec.members), filter_days, alone))


def export_agrees(spec: TeamSpec, filter_spec: FilterSpec) -> None:
    with example_savepoint():
        built = build_team(spec)
        run_both(PAIR, {"team": built.team, "filters": filter_spec.filters(built)})


@pytest.mark.parametrize("name", FILTER_NAMES)
@property_settings(max_examples=6)
@given(data=st.data())
def test_each_filter_alone_exports_the_same_rows(name, data):
    """Each filter by itself selects the same rows on both sides, in the same order, with the same cells."""
    export_agrees(*data.draw(cases(alone=name)))


@property_settings(max_examples=40)
@given(case=cases())
def test_no_filter_or_combined_filters_export_the_same_rows(case):
    """Same rows, cells and order (formula cells neutralised alike) for any PRs, unfiltered or with filters combined."""
    export_agrees(*case)


TIED_PRS = 30
TIE_DAY = dt.date(2026, 11, 1)


@st.composite
def tied_prs(draw: st.DrawFn) -> TeamSpec:
    """30 PRs tied on merged_at and pr_created_at (a few groups, unmerged ones included), inserted oldest id first.

    The expected order breaks ties by id descending, so the insertion (natural) order is never the expected one.
    """
    merged = st.sampled_from((Moment(TIE_DAY), Moment(TIE_DAY, "local_noon"), None))
    created = st.sampled_from((Moment(TIE_DAY - dt.timedelta(days=1)), Moment(TIE_DAY, "just_before_local_midnight")))
    prs = []
    for _ in range(TIED_PRS):
        merged_at = draw(merged)
        prs.append(
            PullRequestSpec(
                author=draw(st.sampled_from((0, 1, None))),
                state="merged" if merged_at else draw(st.sampled_from(("open", "closed"))),
                merged=merged_at,
                created=draw(created),
                title=draw(st.sampled_from(("=1+1", "Same title", "-2"))),
            )
        )
    members = (MemberSpec(name="=cmd()", login="octocat"), MemberSpec(name="Sam", login=""))
    return TeamSpec(zone=draw(st.sampled_from(ZONES)), members=members, id_order=(1, 0), prs=tuple(prs), twin=False)


@property_settings(max_examples=5)
@given(spec=tied_prs())
def test_tied_prs_come_newest_id_first_on_both_sides(spec):
    """30 PRs tied on both timestamps: both sides order them by id descending, not as they were inserted."""
    with example_savepoint():
        built = build_team(spec)
        legacy, _optimized = run_both(PAIR, {"team": built.team, "filters": PRFilters()})
        number_by_url = {pr.github_url: pr.github_pr_id for pr in built.prs}
        exported = [number_by_url[row[-1]] for row in legacy.value]
        expected = [
            pr.github_pr_id
            for pr in sorted(
                built.prs,
                key=lambda pr: (
                    pr.merged_at is None,
                    -pr.merged_at.timestamp() if pr.merged_at else 0,
                    -pr.pr_created_at.timestamp(),
                    -pr.id,
                ),
            )
        ]
        natural = list(PullRequest.objects.filter(team=built.team).order_by().values_list("github_pr_id", flat=True))
        # The premise: the database's natural order is not the expected one, so only the tie rule gives it.
        assert natural != expected
        assert exported == expected
