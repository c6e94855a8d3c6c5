"""Property-based contract cases of integrations.copilot_sync: generated reports over generated teams, legacy against optimized.

A write pair: each side runs in its own rolled-back savepoint, and both its counts and the rows it
leaves are compared (the pair's snapshot, and the whole AIUsageDaily table with the ids of rows
that existed before, so an update in place is told from a delete and insert). Logins are shared,
empty, differ in case or by a leading space; member ids are handed out in a drawn order, so the
lowest id sharing a login is not the first member inserted. Reports come as the parser hands them
over, or raw (repeated login and day included, which the parser would drop). The data and the way
each example runs are described in tests/support/strategies.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.integrations.services import copilot_sync
from apps.integrations.services.copilot_sync import CopilotUsageRecord, parse_usage_records
from apps.metrics.models import AIUsageDaily, TeamMember
from tests.support.strategies import (
    LOGINS,
    MemberSpec,
    TeamSpec,
    UsageSpec,
    build_team,
    copilot_counts,
    example_savepoint,
    property_settings,
    rows_of,
    run_both,
    team_specs,
)

pytestmark = pytest.mark.django_db

PAIR = copilot_sync.sync_copilot_usage
DAYS = (dt.date(2026, 10, 25), dt.date(2026, 10, 24), dt.date(2026, 10, 26))
# Report logins: the members' (exact, other case, leading space, empty) and some nobody has.
REPORT_LOGINS = (*LOGINS, "nobody", "octocat ", "OctoCat")


@st.composite
def reports(
    draw: st.DrawFn, days: tuple[dt.date, ...] = DAYS, logins: tuple[str, ...] = ()
) -> list[CopilotUsageRecord]:
    """A report's records, mostly for the given logins (the team's), also for others (`REPORT_LOGINS`).

    Parsed as the sync parses them (one per login and day), or raw, where a login and day may repeat.
    """
    record = st.builds(
        lambda login, day, counts: CopilotUsageRecord(login=login, day=day, shown=counts[0], accepted=counts[1]),
        st.one_of(st.sampled_from(logins), st.sampled_from(REPORT_LOGINS)) if logins else st.sampled_from(REPORT_LOGINS),
        st.sampled_from(days),
        copilot_counts(),
    )
    if draw(st.sampled_from((False,) * 19 + (True,))):
        return []  # an empty report, now and then
    raw = draw(st.lists(record, min_size=1, max_size=12))
    if draw(st.booleans()):
        parsed, _problems = parse_usage_records(
            [
                {
                    "user_login": record.login,
                    "day": record.day.isoformat(),
                    "code_generation_activity_count": record.shown,
                    "code_acceptance_activity_count": record.accepted,
                }
                for record in raw
            ]
        )
        return parsed
    if raw and draw(st.booleans()):
        # The same login and day again, later in the report, with other counts.
        repeated = draw(st.sampled_from(raw))
        shown, accepted = draw(copilot_counts())
        raw.insert(draw(st.integers(raw.index(repeated) + 1, len(raw))), replace(repeated, shown=shown, accepted=accepted))
    return raw


@st.composite
def cases(draw: st.DrawFn) -> tuple[TeamSpec, list[CopilotUsageRecord]]:
    # Stored rows (Copilot and Cursor, active hours set) on the report's days: updated or left alone.
    spec = draw(team_specs(zone="UTC", days=DAYS, prs=(0, 0), surveys=False, usage=DAYS, members=(1, 8)))
    return spec, draw(reports(logins=tuple(member.login for member in spec.members)))


def usage_table(existing_ids: set[int]) -> list[tuple]:
    fields = [
        "team_id", "member_id", "date", "source", "suggestions_shown", "suggestions_accepted", "acceptance_rate",
        "active_hours",
    ]
    return rows_of(AIUsageDaily, fields, existing_ids=existing_ids)


def run_sync(built, report):
    existing = set(AIUsageDaily.objects.values_list("id", flat=True))
    return run_both(PAIR, {"team": built.team, "records": report}, observe=lambda: usage_table(existing))


@property_settings(max_examples=50)
@given(case=cases())
def test_both_sides_return_and_store_the_same_rows(case):
    """Counts, new rows, rows updated in place (active hours reset) and untouched rows agree, whatever the report."""
    spec, report = case
    with example_savepoint():
        built = build_team(spec)
        run_sync(built, report)


SHARING = 30
DAY = DAYS[0]


@st.composite
def shared_logins(draw: st.DrawFn) -> tuple[TeamSpec, list[CopilotUsageRecord]]:
    """30 members sharing "octocat" or "Octocat", ids handed out out of insertion order, some with a row already."""
    # The first two share "octocat" for sure, the others "octocat" or "Octocat".
    logins = ["octocat", "octocat", *(draw(st.sampled_from(("octocat", "octocat", "Octocat"))) for _ in range(SHARING - 2))]
    id_order = tuple(draw(st.permutations(range(SHARING))))
    sharing_ranks = [rank for rank, login in zip(id_order, logins) if login == "octocat"]
    if sharing_ranks == sorted(sharing_ranks):
        # Inserted in id order after all: reversed, the lowest id is inserted last.
        id_order = tuple(SHARING - 1 - rank for rank in id_order)
    members = tuple(
        MemberSpec(name="Sam", login=login, active=draw(st.sampled_from((True, False)))) for login in logins
    )
    stored = tuple(
        UsageSpec(member=member, day=DAY, source="copilot", shown=10, accepted=5, active_hours_cents=150)
        for member in draw(st.lists(st.integers(0, SHARING - 1), max_size=5, unique=True))
    )
    spec = TeamSpec(zone="UTC", members=members, id_order=id_order, usage=stored, twin=False)
    report = draw(reports(days=(DAY, DAY + dt.timedelta(days=1))))
    report += [CopilotUsageRecord(login="octocat", day=DAY, shown=800, accepted=1)]
    return spec, report


@property_settings(max_examples=6)
@given(case=shared_logins())
def test_a_shared_login_goes_to_the_lowest_id_on_both_sides(case):
    """30 members sharing a login, inserted out of id order: both sides store the row for the lowest id only."""
    spec, report = case
    with example_savepoint():
        built = build_team(spec)
        legacy, _optimized = run_sync(built, report)
        sharing = TeamMember.objects.filter(team=built.team, github_username="octocat")
        lowest = min(sharing.values_list("id", flat=True))
        # The premise: the database's natural order of the members is not the id order.
        natural = list(sharing.order_by().values_list("id", flat=True))
        assert natural != sorted(natural)
        sharing_ids = set(sharing.values_list("id", flat=True))
        # The report's last "octocat" record (800 shown, 1 accepted) on DAY, stored for the lowest id only.
        assert [
            member_id
            for _id, _team, member_id, day, source, shown, accepted, *_rest in legacy.state["table"]
            if member_id in sharing_ids and (day, source, shown, accepted) == (DAY, "copilot", 800, 1)
        ] == [lowest]
