"""Write pairs: the shadow side's writes never stay, both sides' written rows are compared.

The test pair adds one merged PR to each active member's WeeklyMetrics row
for a week (creating the row if needed) and returns how many rows it
touched. Incrementing makes a leaked shadow write visible: a row would go up
by two instead of one.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import F

import shadow
from apps.metrics.models import TeamMember, WeeklyMetrics
from shadow.models import DailyEvidence, ShadowRecord
from shadow.pairs import Pair
from shadow.testing import force_side
from tests.factories import TeamMemberFactory, WeeklyMetricsFactory

PAIR = "test.pair"
WEEK = dt.date(2026, 11, 16)


def legacy_tally(log: list[str], *, commits: int = 0):
    """Row by row: get_or_create, then add one PR (and set commits_count to `commits`)."""

    def tally(*, team, week_start):
        log.append("legacy")
        touched = 0
        for member in TeamMember.objects.filter(team=team, is_active=True).order_by("id"):
            row, _ = WeeklyMetrics.objects.get_or_create(team=team, member=member, week_start=week_start)
            row.prs_merged += 1
            row.commits_count = commits
            row.save(update_fields=["prs_merged", "commits_count", "updated_at"])
            touched += 1
        return touched

    return tally


def optimized_tally(log: list[str], *, commits: int = 0, error: BaseException | None = None):
    """In bulk: insert missing rows, then one UPDATE (and set commits_count to `commits`).

    With `error`, raises it after writing.
    """

    def tally(*, team, week_start):
        log.append("optimized")
        members = list(TeamMember.objects.filter(team=team, is_active=True))
        WeeklyMetrics.objects.bulk_create(
            [WeeklyMetrics(team=team, member=member, week_start=week_start) for member in members],
            ignore_conflicts=True,
        )
        touched = WeeklyMetrics.objects.filter(team=team, week_start=week_start, member__in=members).update(
            prs_merged=F("prs_merged") + 1, commits_count=commits
        )
        if error is not None:
            raise error
        return touched

    return tally


def weekly_snapshot(*, team, week_start):
    return list(
        WeeklyMetrics.objects.filter(team=team, week_start=week_start)
        .order_by("member__github_username")
        .values("member__github_username", "prs_merged", "commits_count")
    )


def table() -> list[tuple]:
    """Every WeeklyMetrics row of every team, without timestamps."""
    return list(
        WeeklyMetrics.objects.order_by("team_id", "member__github_username", "week_start").values_list(
            "team__slug", "member__github_username", "week_start", "prs_merged", "commits_count"
        )
    )


@pytest.fixture
def members(team, other_team):
    """ada (3 PRs already this week), grace (no row yet), an inactive member, and another team's row."""
    ada = TeamMemberFactory(team=team, github_username="ada")
    TeamMemberFactory(team=team, github_username="grace")
    TeamMemberFactory(team=team, github_username="hopper", is_active=False)
    WeeklyMetricsFactory(team=team, member=ada, week_start=WEEK, prs_merged=3)
    linus = TeamMemberFactory(team=other_team, github_username="linus")
    WeeklyMetricsFactory(team=other_team, member=linus, week_start=WEEK, prs_merged=9)


AFTER_ONE_CALL = [
    ("acme", "ada", WEEK, 4, 0),
    ("acme", "grace", WEEK, 1, 0),
    ("globex", "linus", WEEK, 9, 0),
]
BEFORE = [("acme", "ada", WEEK, 3, 0), ("globex", "linus", WEEK, 9, 0)]


@pytest.mark.django_db
def test_a_sampled_write_leaves_exactly_what_an_unshadowed_call_leaves(make_pair, settings, team, members):
    """Same rows, same call: with sampling off and on, the table ends up identical (ada 3 -> 4, not 5)."""
    log: list[str] = []
    pair = make_pair(
        legacy=legacy_tally(log), optimized=optimized_tally(log), writes=True, snapshot=weekly_snapshot
    )
    settings.SHADOW_DEFAULT_RATE = 0
    with transaction.atomic():
        unshadowed_result = pair(team=team, week_start=WEEK)
        unshadowed = table()
        transaction.set_rollback(True)
    assert table() == BEFORE

    settings.SHADOW_DEFAULT_RATE = 1
    shadowed_result = pair(team=team, week_start=WEEK)

    assert table() == unshadowed == AFTER_ONE_CALL
    assert shadowed_result == unshadowed_result == 2
    assert log == ["legacy", "optimized", "legacy"]
    row = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (row.runs, row.matches, row.mismatches) == (1, 1, 0)


@pytest.mark.parametrize(
    ("served", "legacy_commits", "optimized_commits"), [("legacy", 0, 99), ("optimized", 99, 0)]
)
@pytest.mark.django_db
def test_the_shadow_sides_writes_are_not_visible_after_the_call(
    make_pair, sample_everything, team, members, served, legacy_commits, optimized_commits
):
    """The shadow side writes commits_count=99; after the call only the served side's rows remain."""
    log: list[str] = []
    pair = make_pair(
        legacy=legacy_tally(log, commits=legacy_commits),
        optimized=optimized_tally(log, commits=optimized_commits),
        writes=True,
        snapshot=weekly_snapshot,
    )

    with force_side(PAIR, served):
        assert pair(team=team, week_start=WEEK) == 2

    assert table() == AFTER_ONE_CALL
    assert WeeklyMetrics.objects.filter(commits_count=99).count() == 0


@pytest.mark.django_db
def test_a_wrong_write_on_the_optimized_side_is_caught_by_comparing_snapshots(
    make_pair, sample_everything, team, members
):
    """Both sides return 2 rows touched, but optimized wrote commits_count 99: a mismatch at each row's field."""
    log: list[str] = []
    pair = make_pair(
        legacy=legacy_tally(log), optimized=optimized_tally(log, commits=99), writes=True, snapshot=weekly_snapshot
    )

    pair(team=team, week_start=WEEK)

    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served) == ("mismatch", "legacy")
    sides = {"legacy": "0", "optimized": "99", "legacy_redacted": "0", "optimized_redacted": "99"}
    assert record.diff == [
        {"path": ".state[0].commits_count", "line": ".state[0].commits_count: 0 != 99",
         "redacted": ".state[0].commits_count: 0 != 99", **sides},
        {"path": ".state[1].commits_count", "line": ".state[1].commits_count: 0 != 99",
         "redacted": ".state[1].commits_count: 0 != 99", **sides},
    ]
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).mismatches == 1


@pytest.mark.django_db
def test_a_write_pair_always_runs_the_shadow_side_first(make_pair, sample_everything, team, members):
    """Over 10 sampled calls the rolled-back shadow goes first, so both sides start from the same rows."""
    log: list[str] = []
    pair = make_pair(legacy=legacy_tally(log), optimized=optimized_tally(log), writes=True, snapshot=weekly_snapshot)

    for _ in range(10):
        pair(team=team, week_start=WEEK)

    assert log == ["optimized", "legacy"] * 10
    assert DailyEvidence.objects.get(pair_name=PAIR, team=team).matches == 10
    assert table()[0] == ("acme", "ada", WEEK, 13, 0)


@pytest.mark.django_db
def test_optimized_serving_a_write_and_raising_falls_back_to_legacys_write(make_pair, sample_everything, team, members):
    """The optimized side's partial writes are rolled back with its savepoint; legacy then writes for real."""
    log: list[str] = []
    pair = make_pair(
        legacy=legacy_tally(log),
        optimized=optimized_tally(log, commits=99, error=RuntimeError("upsert failed")),
        writes=True,
        snapshot=weekly_snapshot,
    )

    with force_side(PAIR, "optimized"):
        assert pair(team=team, week_start=WEEK) == 2

    assert table() == AFTER_ONE_CALL
    assert log == ["legacy", "optimized", "legacy"]
    row = DailyEvidence.objects.get(pair_name=PAIR, team=team)
    assert (row.errors, row.optimized_errors) == (1, 1)


@pytest.mark.django_db
def test_compare_on_a_write_pair_leaves_the_database_as_it_was(make_pair, team, members):
    """shadow.compare runs both sides in rolled-back savepoints: the table is unchanged, the would-be rows compared."""
    log: list[str] = []
    make_pair(legacy=legacy_tally(log), optimized=optimized_tally(log), writes=True, snapshot=weekly_snapshot)

    comparison = shadow.compare(PAIR, team=team, week_start=WEEK)

    assert table() == BEFORE
    assert comparison.matched is True
    assert comparison.legacy.state == comparison.optimized.state == [
        {"member__github_username": "ada", "prs_merged": 4, "commits_count": 0},
        {"member__github_username": "grace", "prs_merged": 1, "commits_count": 0},
    ]
    assert sorted(log) == ["legacy", "optimized"]


@pytest.mark.django_db
def test_compare_on_a_write_pair_reports_a_state_mismatch_without_writing(make_pair, team, members):
    """A wrong write found on demand is a mismatch; still nothing is written."""
    log: list[str] = []
    make_pair(
        legacy=legacy_tally(log), optimized=optimized_tally(log, commits=5), writes=True, snapshot=weekly_snapshot
    )

    comparison = shadow.compare(PAIR, team=team, week_start=WEEK)

    assert comparison.diff == [".state[0].commits_count: 0 != 5", ".state[1].commits_count: 0 != 5"]
    assert table() == BEFORE


def test_a_write_pair_needs_a_snapshot_function():
    """Without a snapshot the written rows could not be compared, so declaring such a pair fails."""
    with pytest.raises(ValueError, match="'test.pair' writes, so it needs a snapshot function"):
        Pair(name=PAIR, legacy=legacy_tally([]), optimized=optimized_tally([]), writes=True)
