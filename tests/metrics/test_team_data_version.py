"""The per-team data version PostgreSQL keeps (migration metrics.0003), and the cached key metrics that follow it.

Every write to a team's rows, whatever sent it (ORM save, QuerySet.update(),
bulk operations, deletes, raw SQL), gives that team, and no other, a new
version when it commits; inside the writing transaction, each such statement
gives the team a new mark that only this transaction sees. Either way the
next cached read computes the new numbers, while other teams' entries keep
serving. Reads here go through the optimized key metrics: a hit costs one
query (the stamp), a miss three.

Team A starts with two merged PRs (cycles 10.00 and 20.00: 2 PRs, 15.00 h),
team B with one (5.00 h); both are cached.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import psycopg
import pytest
from django.apps import apps
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone

from apps.metrics.cache import team_data_stamp
from apps.metrics.models import Commit, PRReview, PRSurvey, PRSurveyReview, PullRequest, TeamDataVersion, TeamMember
from apps.metrics.services.dashboard import optimized
from apps.teams.models import Team
from tests import factories
from tests.factories import PullRequestFactory, TeamFactory
from tests.support.processes import database_url

START = dt.date(2026, 11, 16)
END = dt.date(2026, 11, 22)
CURRENT = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
HIT, MISS = 1, 3
STATEMENT_TRIGGERS = {
    "team_data_version_insert", "team_data_version_update", "team_data_version_delete", "team_data_version_truncate",
}
PENDING = "metrics_teamdatapending"
VERSIONS = TeamDataVersion._meta.db_table


def merged_pr(team, *, cycle: str, number: int | None = None) -> PullRequest:
    extra = {} if number is None else {"github_pr_id": number}
    return PullRequestFactory(team=team, author=None, merged_at=CURRENT, cycle_time_hours=Decimal(cycle), **extra)


def read(team) -> tuple[int, Decimal | None]:
    current = optimized.get_key_metrics_with_previous(team=team, start_date=START, end_date=END)["current"]
    return current["prs_merged"], current["avg_cycle_time"]


def version(team) -> int:
    """The team's committed data version as this connection sees it (0 without a row)."""
    return TeamDataVersion.objects.filter(team_id=team.pk).values_list("version", flat=True).first() or 0


def entry_key(team) -> str:
    return f"metrics:team:{team.pk}:key_metrics:optimized:UTC:{START}:{END}:{team_data_stamp(team.pk)}"


def run_commit_triggers() -> None:
    """Fire the deferred triggers now, as COMMIT would (the test's transaction itself is never committed)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def rows_written(table: str) -> int:
    """Rows this transaction has inserted into or updated in `table` so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def pr(team, number: int) -> PullRequest:
    return PullRequest.objects.get(team=team, github_pr_id=number)


@pytest.fixture
def teams(team, other_team):
    """(A, B): A with PRs #1 (10.00 h) and #2 (20.00 h), B with one PR (5.00 h); both read once, so cached."""
    merged_pr(team, cycle="10.00", number=1)
    merged_pr(team, cycle="20.00", number=2)
    merged_pr(other_team, cycle="5.00", number=1)
    assert read(team) == (2, Decimal("15.00"))
    assert read(other_team) == (1, Decimal("5.00"))
    return team, other_team


# --- every write path ----------------------------------------------------------------------


def orm_save(team):
    first = pr(team, 1)
    first.cycle_time_hours = Decimal("40.00")
    first.save()


def queryset_update(team):
    PullRequest.objects.filter(team=team, github_pr_id=1).update(cycle_time_hours=Decimal("40.00"))


def bulk_update(team):
    first = pr(team, 1)
    first.cycle_time_hours = Decimal("40.00")
    PullRequest.objects.bulk_update([first], ["cycle_time_hours"])


def bulk_create(team):
    template = pr(team, 2)
    PullRequest.objects.bulk_create(
        [
            PullRequest(
                team=team, github_pr_id=3, github_repo=template.github_repo, title="Bulk", state=PullRequest.State.MERGED,
                pr_created_at=template.pr_created_at, merged_at=CURRENT, cycle_time_hours=Decimal("30.00"),
            )
        ]
    )


def bulk_upsert(team):
    """bulk_create(update_conflicts=True): INSERT … ON CONFLICT DO UPDATE onto PR #1."""
    first = pr(team, 1)
    first.cycle_time_hours = Decimal("40.00")
    first.pk = None
    PullRequest.objects.bulk_create(
        [first], update_conflicts=True, unique_fields=["team", "github_pr_id", "github_repo"],
        update_fields=["cycle_time_hours"],
    )


def instance_delete(team):
    pr(team, 1).delete()


def queryset_delete(team):
    PullRequest.objects.filter(team=team, github_pr_id=1).delete()


def raw_sql_update(team):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE metrics_pullrequest SET cycle_time_hours = 40.00 WHERE team_id = %s AND github_pr_id = 1", [team.pk]
        )


def raw_sql_delete(team):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM metrics_pullrequest WHERE team_id = %s AND github_pr_id = 1", [team.pk])


WRITE_PATHS = pytest.mark.parametrize(
    ("write", "expected"),
    [
        (orm_save, (2, Decimal("30.00"))),
        (queryset_update, (2, Decimal("30.00"))),
        (bulk_update, (2, Decimal("30.00"))),
        (bulk_create, (3, Decimal("20.00"))),
        (bulk_upsert, (2, Decimal("30.00"))),
        (instance_delete, (1, Decimal("20.00"))),
        (queryset_delete, (1, Decimal("20.00"))),
        (raw_sql_update, (2, Decimal("30.00"))),
        (raw_sql_delete, (1, Decimal("20.00"))),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)


@WRITE_PATHS
@pytest.mark.django_db(transaction=True)
def test_a_committed_write_moves_only_its_teams_version_and_the_next_read_is_fresh(
    teams, write, expected, django_assert_num_queries
):
    """Autocommit, as a request or the shell runs: the write's commit moves team A's version, not B's."""
    a, b = teams
    a_before, b_before = version(a), version(b)
    b_key = entry_key(b)

    write(a)

    assert version(a) > a_before
    assert version(b) == b_before
    # Committed: no mark left anywhere, for this connection or any other.
    assert re.fullmatch(r"v\d+", team_data_stamp(a.pk))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PENDING}")
        assert cursor.fetchone()[0] == 0
    with django_assert_num_queries(MISS):
        assert read(a) == expected
    with django_assert_num_queries(HIT):
        assert read(a) == expected
    with django_assert_num_queries(HIT):
        assert read(b) == (1, Decimal("5.00"))
    assert entry_key(b) == b_key and caches["default"].get(b_key)[0]["current"]["prs_merged"] == 1


@WRITE_PATHS
@pytest.mark.django_db
def test_inside_the_writing_transaction_each_write_makes_the_next_read_fresh(
    teams, write, expected, django_assert_num_queries
):
    """Before commit the writer reads its own rows under a mark of its own; at commit the version moves."""
    a, b = teams
    run_commit_triggers()  # the fixture's own writes, as if committed before
    assert (read(a), read(b)) == ((2, Decimal("15.00")), (1, Decimal("5.00")))
    a_stamp, b_stamp, a_version, b_version = team_data_stamp(a.pk), team_data_stamp(b.pk), version(a), version(b)

    write(a)

    assert team_data_stamp(a.pk) != a_stamp and team_data_stamp(b.pk) == b_stamp
    with django_assert_num_queries(MISS):
        assert read(a) == expected
    with django_assert_num_queries(HIT):
        assert read(a) == expected
    with django_assert_num_queries(HIT):
        assert read(b) == (1, Decimal("5.00"))

    run_commit_triggers()

    assert (version(a) > a_version, version(b) == b_version) == (True, True)
    assert team_data_stamp(a.pk) == f"v{version(a)}" and team_data_stamp(b.pk) == b_stamp
    with django_assert_num_queries(MISS):
        assert read(a) == expected
    with django_assert_num_queries(HIT):
        assert read(b) == (1, Decimal("5.00"))


@pytest.mark.django_db
def test_a_statement_that_changes_no_row_moves_nothing(teams, django_assert_num_queries):
    a, b = teams
    before = (team_data_stamp(a.pk), team_data_stamp(b.pk))

    assert PullRequest.objects.filter(team=a, github_pr_id=999).update(title="nothing") == 0

    assert (team_data_stamp(a.pk), team_data_stamp(b.pk)) == before
    with django_assert_num_queries(HIT):
        assert read(a) == (2, Decimal("15.00"))


@pytest.mark.django_db
def test_moving_a_pr_to_another_team_moves_both_teams(teams):
    """An UPDATE counts the teams of the old and of the new rows."""
    a, b = teams
    before = (team_data_stamp(a.pk), team_data_stamp(b.pk))

    PullRequest.objects.filter(team=a, github_pr_id=2).update(team=b)

    assert team_data_stamp(a.pk) != before[0] and team_data_stamp(b.pk) != before[1]
    assert (read(a), read(b)) == ((1, Decimal("10.00")), (2, Decimal("12.50")))


# --- once per statement, once per commit ----------------------------------------------------


def thousand_prs(team) -> None:
    PullRequest.objects.bulk_create(
        [
            PullRequest(
                team=team, github_pr_id=1000 + n, github_repo="acme/bulk", title=f"PR {n}",
                state=PullRequest.State.MERGED, pr_created_at=CURRENT - dt.timedelta(hours=24), merged_at=CURRENT,
                cycle_time_hours=Decimal("24.00"),
            )
            for n in range(1000)
        ]
    )


@pytest.mark.django_db
def test_statements_over_1000_rows_of_one_team_note_it_once_each_and_its_commit_moves_its_version_once(
    teams, django_assert_num_queries
):
    """Insert, update and delete 1,000 rows: one pending-row write per statement, one version write at commit."""
    a, b = teams
    run_commit_triggers()  # the fixture's own writes, as if committed before
    a_version, b_version = version(a), version(b)
    pending, versions = rows_written(PENDING), rows_written(VERSIONS)

    with django_assert_num_queries(1):
        thousand_prs(a)
    assert rows_written(PENDING) - pending == 1
    assert PullRequest.objects.filter(team=a, github_repo="acme/bulk").update(cycle_time_hours=Decimal("12.00")) == 1000
    assert rows_written(PENDING) - pending == 2
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM metrics_pullrequest WHERE team_id = %s AND github_repo = 'acme/bulk'", [a.pk])
        assert cursor.rowcount == 1000
    assert rows_written(PENDING) - pending == 3
    assert rows_written(VERSIONS) == versions  # nothing before commit

    run_commit_triggers()

    assert rows_written(VERSIONS) - versions == 1
    assert version(a) > a_version and version(b) == b_version
    assert read(a) == (2, Decimal("15.00"))


@pytest.mark.django_db(transaction=True)
def test_a_committed_1000_row_update_moves_its_teams_version_once():
    """In its own transaction, as autocommit runs it: the 1,000-row UPDATE writes the version row once."""
    a, b = TeamFactory(), TeamFactory()
    thousand_prs(a)
    merged_pr(b, cycle="5.00")
    a_version, b_version = version(a), version(b)

    with transaction.atomic():
        versions = rows_written(VERSIONS)
        assert PullRequest.objects.filter(team=a).update(cycle_time_hours=Decimal("12.00")) == 1000
        run_commit_triggers()
        assert rows_written(VERSIONS) - versions == 1

    assert version(a) > a_version and version(b) == b_version
    assert read(a) == (1000, Decimal("12.00"))


@pytest.mark.django_db
def test_a_statement_over_two_teams_moves_each_once(teams):
    a, b = teams
    third = TeamFactory()
    merged_pr(third, cycle="1.00")
    run_commit_triggers()
    before = {team.pk: version(team) for team in (a, b, third)}
    versions = rows_written(VERSIONS)

    assert PullRequest.objects.filter(team__in=[a, b]).update(title="renamed") == 3
    run_commit_triggers()

    assert rows_written(VERSIONS) - versions == 2
    after = {team.pk: version(team) for team in (a, b, third)}
    assert after[a.pk] > before[a.pk] and after[b.pk] > before[b.pk] and after[third.pk] == before[third.pk]


# --- every table the dashboard reads --------------------------------------------------------

ROW_FACTORIES = [
    factories.PullRequestFactory,
    factories.PRReviewFactory,
    factories.CommitFactory,
    factories.PRSurveyFactory,
    factories.PRSurveyReviewFactory,
    factories.AIUsageDailyFactory,
    factories.TeamMemberFactory,
    factories.WeeklyMetricsFactory,
]


def team_tables() -> set[str]:
    """Tables of every metrics model with a team (all but the version table itself)."""
    return {
        model._meta.db_table
        for model in apps.get_app_config("metrics").get_models()
        if model is not TeamDataVersion and any(field.name == "team" for field in model._meta.fields)
    }


@pytest.mark.django_db
def test_every_team_table_has_the_four_triggers():
    """Insert, update, delete (with transition tables) and truncate on each table with team rows; the commit trigger."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE %s AND NOT t.tgisinternal",
            ["team_data_version%"],
        )
        found: dict[str, set[str]] = {}
        for table, trigger in cursor.fetchall():
            found.setdefault(table, set()).add(trigger)

    assert found == {**dict.fromkeys(team_tables(), STATEMENT_TRIGGERS), PENDING: {"team_data_version_at_commit"}}
    assert {factory._meta.model._meta.db_table for factory in ROW_FACTORIES} == team_tables()


def row_of(model, team) -> dict:
    """Everything a row of `model` needs, created first, so that building the row itself is one INSERT."""
    if model is TeamMember:
        return {"team": team}
    if model is PullRequest:
        return {"team": team, "author": None}
    member = factories.TeamMemberFactory(team=team)
    if model is PRReview:
        return {"pull_request": PullRequestFactory(team=team, author=None), "reviewer": member}
    if model is PRSurvey:
        return {"pull_request": PullRequestFactory(team=team, author=None)}
    if model is PRSurveyReview:
        return {"survey": factories.PRSurveyFactory(pull_request=PullRequestFactory(team=team, author=None)),
                "reviewer": member}
    if model is Commit:
        return {"team": team, "author": member}
    return {"team": team, "member": member}  # AIUsageDaily, WeeklyMetrics


def mark(team) -> int:
    return int(team_data_stamp(team.pk).partition(".")[2])


@pytest.mark.django_db
@pytest.mark.parametrize("factory", ROW_FACTORIES, ids=lambda factory: factory._meta.model.__name__)
def test_insert_update_and_delete_on_each_table_move_only_that_team(team, other_team, factory):
    """One statement of each kind on the table: each gives the row's team a new mark, then its commit a new version."""
    model = factory._meta.model
    kwargs = row_of(model, team)
    merged_pr(other_team, cycle="1.00")
    run_commit_triggers()
    untouched, before = team_data_stamp(other_team.pk), version(team)
    marks = []

    row = factory(**kwargs)
    marks.append(mark(team))
    assert model.objects.filter(pk=row.pk).update(updated_at=timezone.now()) == 1
    marks.append(mark(team))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [row.pk])
    marks.append(mark(team))
    run_commit_triggers()

    assert marks == sorted(set(marks)), marks
    assert version(team) > before
    assert team_data_stamp(other_team.pk) == untouched


@pytest.mark.django_db
def test_truncate_moves_every_teams_version(teams):
    """TRUNCATE fires no row or transition-table trigger; its own trigger counts as a write to every team."""
    a, b = teams
    empty = TeamFactory()
    run_commit_triggers()
    before = {team.pk: version(team) for team in (a, b, empty)}

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE metrics_weeklymetrics")
    run_commit_triggers()

    after = {team.pk: version(team) for team in (a, b, empty)}
    assert all(after[pk] > before[pk] for pk in before)


# --- transactions ---------------------------------------------------------------------------


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_a_rolled_back_write_never_lends_its_mark_to_a_later_one(teams, django_assert_num_queries):
    """Marks come from a sequence: what a rolled-back savepoint cached stays under a stamp never used again."""
    a, _b = teams
    before = team_data_stamp(a.pk)

    with pytest.raises(Rollback), transaction.atomic():
        merged_pr(a, cycle="60.00")
        uncommitted = team_data_stamp(a.pk)
        # This savepoint reads (and caches) its own rows under its own stamp.
        with django_assert_num_queries(MISS):
            assert read(a) == (3, Decimal("30.00"))
        raise Rollback

    assert team_data_stamp(a.pk) == before
    with django_assert_num_queries(HIT):
        assert read(a) == (2, Decimal("15.00"))

    merged_pr(a, cycle="30.00")

    assert team_data_stamp(a.pk) not in (before, uncommitted)
    with django_assert_num_queries(MISS):
        assert read(a) == (3, Decimal("20.00"))


def in_another_connection(function):
    """`function()` run in a thread, so on a Django connection of its own (closed afterwards)."""
    results = []

    def run():
        try:
            results.append(function())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return results[0]


@pytest.mark.django_db(transaction=True)
def test_other_connections_see_the_new_version_exactly_when_they_see_the_rows():
    """Until the writer commits, another connection reads the old stamp and the old numbers; then both new."""
    team = TeamFactory()
    merged_pr(team, cycle="10.00")
    assert in_another_connection(lambda: read(team)) == (1, Decimal("10.00"))
    committed = team_data_stamp(team.pk)

    with transaction.atomic():
        merged_pr(team, cycle="20.00")
        assert team_data_stamp(team.pk).startswith(f"{committed}.")
        assert in_another_connection(lambda: (team_data_stamp(team.pk), read(team))) == (
            committed, (1, Decimal("10.00"))
        )

    assert in_another_connection(lambda: team_data_stamp(team.pk)) == team_data_stamp(team.pk) != committed
    assert in_another_connection(lambda: read(team)) == (2, Decimal("15.00"))


@pytest.mark.django_db(transaction=True)
def test_writers_of_one_team_do_not_wait_for_each_other(teams):
    """An open transaction that wrote team A's rows holds no lock another writer of A needs, until its commit."""
    a, _b = teams
    before = version(a)
    with psycopg.connect(database_url()) as other:
        other.execute("UPDATE metrics_pullrequest SET title = 'other' WHERE team_id = %s AND github_pr_id = 1", [a.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            try:
                cursor.execute(
                    "UPDATE metrics_pullrequest SET cycle_time_hours = 40.00 WHERE team_id = %s AND github_pr_id = 2",
                    [a.pk],
                )
            finally:
                cursor.execute("RESET lock_timeout")
        after_first_commit = version(a)
        other.commit()

    assert before < after_first_commit < version(a)
    assert read(a) == (2, Decimal("25.00"))


@pytest.mark.django_db
def test_deleting_a_team_takes_its_version_row_along(teams):
    """The ORM deletes the team's rows (noting the team), then the team; its commit skips it, PostgreSQL cascades."""
    a, b = teams
    run_commit_triggers()
    b_version = version(b)
    assert version(a) > 0

    Team.objects.filter(pk=a.pk).delete()
    run_commit_triggers()

    assert not TeamDataVersion.objects.filter(team_id=a.pk).exists()
    assert version(b) == b_version
