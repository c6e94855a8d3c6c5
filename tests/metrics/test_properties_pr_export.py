"""Property-based contract cases of metrics.pr_export: generated PRs and filters, legacy against optimized.

A stream pair: each side's CSV lines are consumed into a list inside its own rolled-back savepoint
and compared line for line, exactly, so equal means the same bytes (a sampled call compares the
streams' digests). Filters come alone or combined; dates are whole days in the team's zone, and
PRs are created at and around their bounds. Titles, names, Jira keys and tools are formula-like.
The data and the way each example runs are described in tests/support/strategies.py.

The optimized side writes every cell in SQL, so the last cases draw the cells' values themselves:
text of any characters (formula starts, quotes, commas, line breaks, non-ASCII), decimals
negative, null or NaN, counts at the ends of their range, timestamps across the datetime range
with and without microseconds (around summer time changes too) in a drawn team zone (local
years 0 and 10000 at the range's ends), and AI Tools values of any JSON shape.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import JSONField, Value
from hypothesis import given
from hypothesis import strategies as st

from apps.metrics.models import SIZE_BUCKETS, PullRequest, TeamMember
from apps.metrics.services import pr_export
from apps.metrics.services.pr_list import PRFilters
from apps.metrics.synthetic import season_days
from apps.teams.models import Team
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
        exported = [number_by_url[next(csv.reader(io.StringIO(line, newline="")))[-1]] for line in legacy.value]
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


# --- every cell's value drawn: the SQL formatting against Python's --------------------------------

# Characters the formatting treats specially, more often than any others.
SPECIAL = st.sampled_from(("=", "+", "-", "@", "\t", "\r", "\n", "\r\n", '"', ",", "'", " ", "\\", ";", "é", "✨", "\u2028"))
# PostgreSQL text holds any character but NUL; lone surrogates are not text.
ANY_CHARACTER = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(SPECIAL, ANY_CHARACTER), max_size=max_size).map("".join).map(lambda text: text[:max_size])


DECIMALS = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2, allow_nan=False),
    st.sampled_from((Decimal("-0.01"), Decimal("0.00"), Decimal("-99999999.99"), Decimal("NaN"))),
)
INTEGERS = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from((0, -1, -(2**31), 2**31 - 1)))
# The datetime range Python can read back, in UTC; whole seconds as often as not; its ends, and instants within
# a second of Berlin's and New York's 2026 summer time changes.
CHANGES = (dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC),
           dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC))
INSTANTS = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999_999), timezones=st.just(dt.UTC)
    ),
    st.sampled_from((dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC))),
    st.builds(lambda change, shift: change + dt.timedelta(microseconds=shift), st.sampled_from(CHANGES),
              st.integers(-1_000_000, 1_000_000)),
).flatmap(lambda moment: st.sampled_from((moment, moment.replace(microsecond=0))))
# Team zones: the generated teams' (UTC, Berlin, New York) and ones at the offsets' extremes, with local mean
# times in seconds, half-hour summer time, and a name PostgreSQL reads as an abbreviation.
TEAM_ZONES = st.sampled_from(
    (*ZONES, "Pacific/Kiritimati", "Pacific/Pago_Pago", "Australia/Lord_Howe", "America/St_Johns", "CET")
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False),
              texts(8)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(texts(4), children, max_size=2)),
    max_leaves=6,
)
# Mostly what the app stores (lists of tool names), sometimes any JSON at all.
TOOLS = st.one_of(st.lists(texts(10), max_size=4), st.lists(st.sampled_from(("copilot", "cursor", "+tool")), max_size=3),
                  JSON_VALUES)


@st.composite
def drawn_prs(draw: st.DrawFn) -> list[dict]:
    """1-8 PRs whose every exported value is drawn; authors (or none) by index into drawn_names."""
    prs = []
    for index in range(draw(st.integers(1, 8))):
        merged = draw(st.one_of(st.none(), INSTANTS))
        prs.append(
            {
                "author": draw(st.one_of(st.none(), st.integers(0, 2))),
                # (team, number, repo) is unique: the number is the index, its sign drawn.
                "github_pr_id": (index + 1) * draw(st.sampled_from((1, 1, -1))),
                "github_repo": draw(texts(20)),
                "title": draw(texts(40)),
                "state": draw(st.one_of(st.sampled_from(PullRequest.State.values), texts(10))),
                "pr_created_at": draw(INSTANTS),
                "merged_at": merged,
                "cycle_time_hours": draw(DECIMALS),
                "review_time_hours": draw(DECIMALS),
                "additions": draw(INTEGERS),
                "deletions": draw(INTEGERS),
                "review_rounds": draw(st.one_of(st.none(), INTEGERS)),
                "total_comments": draw(st.one_of(st.none(), INTEGERS)),
                "is_ai_assisted": draw(st.booleans()),
                "ai_tools_detected": draw(TOOLS),
                "jira_key": draw(texts(12)),
            }
        )
    return prs


DECIMAL_COLUMNS = ("cycle_time_hours", "review_time_hours")


def drawn_team(names: list[str], prs: list[dict], zone: str = "UTC") -> Team:
    """The team in `zone`, its members and PRs; a NaN decimal (which the ORM refuses to save) is written by SQL, and
    AI Tools None as JSON null (the column is NOT NULL)."""
    team = Team.objects.create(name="Drawn", slug="drawn", timezone=zone)
    members = [
        TeamMember.objects.create(team=team, display_name=name, github_username=f"drawn{index}", github_id=str(index))
        for index, name in enumerate(names)
    ]

    def stored(values: dict) -> dict:
        nan = {column: None for column in DECIMAL_COLUMNS if values[column] is not None and values[column].is_nan()}
        tools = values["ai_tools_detected"]
        return {
            **values, **nan, "author": members[values["author"]] if values["author"] is not None else None,
            "ai_tools_detected": Value(None, JSONField()) if tools is None else tools,
        }

    PullRequest.objects.bulk_create(PullRequest(team=team, **stored(values)) for values in prs)
    with connection.cursor() as cursor:
        for values in prs:
            for column in DECIMAL_COLUMNS:
                if values[column] is not None and values[column].is_nan():
                    cursor.execute(
                        f"UPDATE metrics_pullrequest SET {column} = 'NaN' WHERE team_id = %s AND github_pr_id = %s",
                        [team.pk, values["github_pr_id"]],
                    )
    return team


@property_settings(max_examples=120)
@given(names=st.lists(texts(30), min_size=3, max_size=3), prs=drawn_prs(), zone=TEAM_ZONES)
def test_every_cell_is_written_as_python_writes_it(names, prs, zone):
    """Any text, decimal, count, timestamp (in any team zone) and AI Tools value: the optimized side's lines are
    legacy's, byte for byte."""
    with example_savepoint():
        team = drawn_team(names, prs, zone)
        legacy, optimized = run_both(PAIR, {"team": team, "filters": PRFilters()})
        assert len(optimized.value) == len(prs)


@property_settings(max_examples=40)
@given(tools=st.lists(JSON_VALUES, min_size=1, max_size=5))
def test_ai_tools_of_any_json_shape_are_written_as_python_writes_them(tools):
    """AI Tools values of any JSON shape, several PRs each, between plain ones: lines equal, in order."""
    prs = [
        {"author": None, "github_pr_id": index + 1, "github_repo": "acme/api", "title": f"PR {index}", "state": "merged",
         "pr_created_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=index), "merged_at": None,
         "cycle_time_hours": None, "review_time_hours": None, "additions": 1, "deletions": 1, "review_rounds": None,
         "total_comments": None, "is_ai_assisted": True, "ai_tools_detected": value, "jira_key": ""}
        for index, value in enumerate([["copilot"], *tools, []])
    ]
    with example_savepoint():
        team = drawn_team(["Ada", "Bob", "Cy"], prs)
        legacy, optimized = run_both(PAIR, {"team": team, "filters": PRFilters()})
        assert len(optimized.value) == len(prs)
