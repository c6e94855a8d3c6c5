"""Stream pairs: iterators served as they are, sampled calls compared row by row in lockstep.

Test pairs are built from `RowSource` sides: each yields a list of rows (or
misbehaves at a given row) and logs when it starts and when it is closed, so
"which side ran, and how far" is read from the log.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
import sentry_sdk
from django.db import connection

import shadow
from apps.metrics.models import TeamMember
from shadow import pairs as registry
from shadow.checks import check_pairs
from shadow.diff import CompareRules, IgnoreRule
from shadow.errors import ShadowMismatchError
from shadow.models import DailyEvidence, ShadowRecord
from shadow.outcome import RowDifference, StreamSummary
from shadow.pairs import Pair
from shadow.testing import force_side
from tests.factories import TeamMemberFactory
from tests.shadow.sides import make_queries

PAIR = "test.pair"
ROWS = [[f"PR {n}", f"Author {n}"] for n in range(30)]
WRONG_AT_17 = ROWS[:17] + [["PR 17", "Mallory Wrong"]] + ROWS[18:]


class RowSource:
    """A stream side: yields `rows`, `queries` SQL statements before each; logs "<name> started"/"<name> closed".

    With `fail_at`, it raises `error` (the very same object each time) instead of yielding row `fail_at`.
    With `sql_at`, it runs `sql` before that row. With `sleep`, it runs pg_sleep(sleep) before every row
    and logs "slept" after each.
    """

    def __init__(self, name, log, rows, *, queries=0, fail_at=None, error=None, sql_at=None, sql="", sleep=0.0):
        self.name = name
        self.log = log
        self.rows = rows
        self.queries = queries
        self.fail_at = fail_at
        self.error = error
        self.sql_at = sql_at
        self.sql = sql
        self.sleep = sleep
        self.produced = 0

    def __call__(self, *, team) -> Iterator[list]:
        return self.generate(team)

    def generate(self, team) -> Iterator[list]:
        self.log.append(f"{self.name} started")
        try:
            for index, row in enumerate(self.rows):
                if index == self.sql_at:
                    with connection.cursor() as cursor:
                        cursor.execute(self.sql)
                if index == self.fail_at:
                    raise self.error
                if self.sleep:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(%s)", [self.sleep])
                    self.log.append("slept")
                make_queries(team, self.queries)
                self.produced += 1
                yield row
        finally:
            self.log.append(f"{self.name} closed")


def consume(iterator, into: list) -> None:
    """Read the iterator to its end into `into`, so rows received before an exception are kept."""
    for row in iterator:
        into.append(row)


def evidence(team) -> DailyEvidence:
    return DailyEvidence.objects.get(pair_name=PAIR, team=team)


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def legacy_side(*, team):
    yield from ROWS


def optimized_side(*, team):
    yield from ROWS


# --- declaring a stream pair ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deferred": True}, "streams, so it cannot be deferred"),
        ({"writes": True, "snapshot": lambda **kwargs: None}, "streams, so it cannot write"),
        ({"rules": CompareRules(ignore=(IgnoreRule("[*][0]", "titles drift"),))}, "compared exactly"),
        ({"rules": CompareRules(unordered=("",))}, "compared exactly"),
    ],
    ids=["deferred", "writes", "ignore", "unordered"],
)
def test_a_stream_pair_refuses_deferral_writes_and_inexact_rules(options, message):
    """Deferred mode, writes, ignore and unordered rules cannot apply to rows compared as they pass."""
    with pytest.raises(ValueError, match=message):
        Pair(name=PAIR, legacy=legacy_side, optimized=optimized_side, stream=True, **options)


def test_generator_sides_pass_the_start_up_check_when_the_pair_streams(make_pair):
    """Generators are what a stream pair's sides are: no signature problem is reported."""
    make_pair(legacy=legacy_side, optimized=optimized_side, stream=True)
    assert check_pairs() == []


# --- unsampled calls ----------------------------------------------------------------------


@pytest.mark.django_db
def test_unsampled_legacy_serving_returns_legacys_own_iterator(make_pair, settings, team):
    """Flag off, rate 0: the caller iterates legacy's generator itself; optimized never starts."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    legacy = RowSource("legacy", log, ROWS)
    pair = make_pair(legacy=legacy, optimized=RowSource("optimized", log, ROWS), stream=True)

    iterator = pair(team=team)

    assert iterator.gi_code is legacy.generate.__code__
    assert list(iterator) == ROWS
    assert log == ["legacy started", "legacy closed"]
    assert DailyEvidence.objects.count() == 0


@pytest.mark.django_db
def test_unsampled_optimized_serving_streams_optimized_rows_only(make_pair, settings, team):
    """Optimized serves: its rows reach the caller; legacy never starts and nothing is recorded."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS), optimized=RowSource("optimized", log, WRONG_AT_17), stream=True
    )

    with force_side(PAIR, "optimized"):
        rows = list(pair(team=team))

    assert rows == WRONG_AT_17
    assert log == ["optimized started", "optimized closed"]
    assert DailyEvidence.objects.count() == 0


@pytest.mark.django_db
def test_unsampled_optimized_failing_before_its_first_row_falls_back_to_legacy(make_pair, settings, team):
    """Nothing was sent yet: legacy's rows serve, and the optimized error is recorded as a serving error."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS),
        optimized=RowSource("optimized", log, ROWS, fail_at=0, error=KeyError("author")),
        stream=True,
    )

    with force_side(PAIR, "optimized"):
        rows = list(pair(team=team))

    assert rows == ROWS
    assert log == ["optimized started", "optimized closed", "legacy started", "legacy closed"]
    row = evidence(team)
    assert (row.runs, row.errors, row.optimized_errors) == (0, 1, 1)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served) == ("error", "optimized")
    assert record.error == "optimized (serving, fell back to legacy): KeyError: 'author'"


@pytest.mark.django_db
def test_unsampled_optimized_sql_failing_before_its_first_row_leaves_the_transaction_to_legacy(
    make_pair, settings, team
):
    """Its invalid SQL is rolled back to a savepoint: legacy queries and serves, and so can the caller."""
    settings.SHADOW_DEFAULT_RATE = 0
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS, queries=1),
        optimized=RowSource("optimized", log, ROWS, sql_at=0, sql="SELECT * FROM shadow_table_that_does_not_exist"),
        stream=True,
    )

    with force_side(PAIR, "optimized"):
        rows = list(pair(team=team))

    assert rows == ROWS
    assert TeamMemberFactory(team=team, display_name="After").display_name == "After"
    assert evidence(team).optimized_errors == 1


@pytest.mark.django_db
def test_unsampled_optimized_failing_after_rows_were_sent_reaches_the_caller_and_is_recorded(
    make_pair, settings, team
):
    """Three rows are out: the response cannot switch sides, so the very same error follows them."""
    settings.SHADOW_DEFAULT_RATE = 0
    error = RuntimeError("connection lost")
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS),
        optimized=RowSource("optimized", log, ROWS, fail_at=3, error=error),
        stream=True,
    )
    received: list = []

    with force_side(PAIR, "optimized"), pytest.raises(RuntimeError) as raised:
        consume(pair(team=team), received)

    assert raised.value is error
    assert received == ROWS[:3]
    assert log == ["optimized started", "optimized closed"]
    row = evidence(team)
    assert (row.runs, row.errors, row.optimized_errors) == (0, 1, 1)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served) == ("error", "optimized")
    assert record.error == "optimized (serving, failed after 3 rows were sent): RuntimeError: connection lost"


# --- sampled calls: lockstep ------------------------------------------------------------------


@pytest.mark.django_db
def test_matching_streams_serve_the_rows_and_record_a_match_with_both_measurements(
    make_pair, sample_everything, team, sentry_events
):
    """Both sides agree: the served rows are legacy's, the evidence counts one match, and Sentry gets nothing."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS, queries=1), optimized=RowSource("optimized", log, ROWS), stream=True
    )

    rows = list(pair(team=team))

    assert rows == ROWS
    assert sorted(log) == ["legacy closed", "legacy started", "optimized closed", "optimized started"]
    row = evidence(team)
    assert (row.runs, row.matches, row.mismatches, row.errors, row.timeouts) == (1, 1, 0, 0, 0)
    assert (row.legacy_queries_total, row.optimized_queries_total, row.measured_runs) == (30, 0, 1)
    assert ShadowRecord.objects.count() == 0
    sentry_sdk.flush(timeout=5)
    assert sentry_events.events == []


@pytest.mark.django_db
def test_the_first_differing_row_is_reported_by_index_redacted_in_sentry_and_in_full_in_the_record(
    make_pair, sample_everything, team, sentry_events
):
    """Rows 17 and 20 differ: row 17 is the one described; its contents never reach Sentry."""
    wrong = WRONG_AT_17[:20] + [["PR 20", "Trudy Also Wrong"]] + WRONG_AT_17[21:]
    log: list[str] = []
    pair = make_pair(legacy=RowSource("legacy", log, ROWS), optimized=RowSource("optimized", log, wrong), stream=True)

    rows = list(pair(team=team))

    assert rows == ROWS
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served) == ("mismatch", "legacy")
    assert record.diff == [{
        "path": "[row 17][1]", "line": "[row 17][1]: 'Author 17' != 'Mallory Wrong'",
        "redacted": "[row 17][1]: [redacted] != [redacted]",
        "legacy": "'Author 17'", "optimized": "'Mallory Wrong'",
        "legacy_redacted": "[redacted]", "optimized_redacted": "[redacted]",
    }]
    [event] = sentry_events.wait_for_events(1)
    assert event["message"] == "Shadow mismatch in test.pair"
    assert event["contexts"]["shadow"]["diff"] == ["[row 17][1]: [redacted] != [redacted]"]
    assert [value for value in (b"Author 17", b"Mallory", b"Trudy") if value in sentry_events.raw_bytes] == []
    assert (evidence(team).mismatches, evidence(team).runs) == (1, 1)


@pytest.mark.parametrize(
    ("optimized_rows", "line"),
    [(ROWS[:28], "#len: 30 != 28"), (ROWS + [["PR 30", "Author 30"], ["PR 31", "Author 31"]], "#len: 30 != 32")],
    ids=["shadow-shorter", "shadow-longer"],
)
@pytest.mark.django_db
def test_a_length_difference_is_reported(make_pair, sample_everything, team, optimized_rows, line):
    """A shadow that ends early, or has rows left when the served rows end (drained), differs in length."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS), optimized=RowSource("optimized", log, optimized_rows), stream=True
    )

    assert list(pair(team=team)) == ROWS

    record = ShadowRecord.objects.get()
    assert record.outcome == "mismatch"
    legacy_length, optimized_length = line.removeprefix("#len: ").split(" != ")
    assert record.diff == [{
        "path": "#len", "line": line, "redacted": line, "legacy": legacy_length, "optimized": optimized_length,
        "legacy_redacted": legacy_length, "optimized_redacted": optimized_length,
    }]


@pytest.mark.django_db
def test_a_shadow_raising_mid_stream_does_not_interrupt_the_served_rows(make_pair, sample_everything, team):
    """The optimized shadow raises at row 5: all 30 legacy rows still arrive; the error is evidence."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS),
        optimized=RowSource("optimized", log, ROWS, fail_at=5, error=ValueError("no avatar")),
        stream=True,
    )

    assert list(pair(team=team)) == ROWS

    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.error) == ("error", "legacy", "optimized: ValueError: no avatar")
    assert (evidence(team).errors, evidence(team).optimized_errors) == (1, 0)


@pytest.mark.django_db
def test_a_shadow_failing_in_sql_mid_stream_leaves_the_callers_transaction_usable(
    make_pair, sample_everything, team
):
    """Invalid SQL in the shadow at row 5 is rolled back to its own savepoint: the served side keeps querying."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS, queries=1),
        optimized=RowSource("optimized", log, ROWS, sql_at=5, sql="SELECT * FROM shadow_table_that_does_not_exist"),
        stream=True,
    )

    assert list(pair(team=team)) == ROWS

    record = ShadowRecord.objects.get()
    assert record.outcome == "error"
    assert record.error.startswith("optimized: ProgrammingError: relation \"shadow_table_that_does_not_exist\"")
    assert TeamMemberFactory(team=team, display_name="After").display_name == "After"
    assert statement_timeout() == "0"


@pytest.mark.django_db
def test_a_shadow_that_uses_up_its_budget_stops_and_the_served_rows_keep_flowing(make_pair, sample_everything, team):
    """pg_sleep(0.05) before each shadow row against a 200 ms budget: stopped within 5 rows, recorded as a timeout."""
    log: list[str] = []
    slow = RowSource("optimized", log, ROWS, sleep=0.05)
    pair = make_pair(legacy=RowSource("legacy", log, ROWS), optimized=slow, stream=True, time_budget_ms=200)

    assert list(pair(team=team)) == ROWS

    assert log.count("slept") <= 5
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.error) == ("timeout", "optimized: timed out")
    assert evidence(team).timeouts == 1
    assert statement_timeout() == "0"


@pytest.mark.django_db
def test_a_single_slow_shadow_statement_is_cancelled_at_the_remaining_budget(make_pair, sample_everything, team):
    """`SELECT pg_sleep(5)` before the shadow's third row is cancelled by the server at the 300 ms budget."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS, queries=1),
        optimized=RowSource("optimized", log, ROWS, sql_at=2, sql="SELECT pg_sleep(5)"),
        stream=True,
        time_budget_ms=300,
    )

    assert list(pair(team=team)) == ROWS

    record = ShadowRecord.objects.get()
    assert (record.outcome, record.error) == ("timeout", "optimized: timed out")
    assert record.optimized_measurement["wall_ms"] < 5000
    assert statement_timeout() == "0"
    assert TeamMemberFactory(team=team).pk is not None


@pytest.mark.django_db
def test_legacy_serving_and_raising_mid_stream_reaches_the_caller_after_its_rows(make_pair, sample_everything, team):
    """The served side's error is the caller's, after the rows it did yield; the disagreement is recorded."""
    error = LookupError("gone")
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS, fail_at=4, error=error),
        optimized=RowSource("optimized", log, ROWS),
        stream=True,
    )
    received: list = []

    with pytest.raises(LookupError) as raised:
        consume(pair(team=team), received)

    assert raised.value is error
    assert received == ROWS[:4]
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.error) == ("error", "legacy", "legacy: LookupError: gone")


@pytest.mark.django_db
def test_both_sides_refusing_alike_is_a_match_and_the_caller_gets_the_error(make_pair, sample_everything, team):
    """Bad input: both sides raise the same error before any row; legacy's error reaches the caller."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS, fail_at=0, error=ValueError("bad filters")),
        optimized=RowSource("optimized", log, ROWS, fail_at=0, error=ValueError("bad filters")),
        stream=True,
    )

    with pytest.raises(ValueError, match="bad filters"):
        list(pair(team=team))

    row = evidence(team)
    assert (row.runs, row.matches, row.errors) == (1, 1, 0)


@pytest.mark.django_db
def test_sampled_optimized_failing_before_its_first_row_falls_back_to_legacy(make_pair, sample_everything, team):
    """Optimized serves and fails at once: legacy's rows serve, the error is recorded once as an optimized error."""
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS),
        optimized=RowSource("optimized", log, ROWS, fail_at=0, error=KeyError("author")),
        stream=True,
    )

    with force_side(PAIR, "optimized"):
        rows = list(pair(team=team))

    assert rows == ROWS
    row = evidence(team)
    assert (row.runs, row.errors, row.optimized_errors) == (1, 1, 1)
    record = ShadowRecord.objects.get()
    assert (record.outcome, record.served, record.error) == ("error", "optimized", "optimized: KeyError: 'author'")


@pytest.mark.django_db
def test_a_consumer_stopping_early_closes_both_sides_and_reports_nothing(make_pair, sample_everything, team):
    """The client went away after 5 rows: both generators are closed at once, and no evidence is written."""
    log: list[str] = []
    legacy = RowSource("legacy", log, ROWS)
    optimized = RowSource("optimized", log, WRONG_AT_17)
    pair = make_pair(legacy=legacy, optimized=optimized, stream=True)

    iterator = pair(team=team)
    first_rows = [next(iterator) for _ in range(5)]
    iterator.close()

    assert first_rows == ROWS[:5]
    assert (legacy.produced, optimized.produced) == (5, 5)
    assert sorted(log) == ["legacy closed", "legacy started", "optimized closed", "optimized started"]
    assert (DailyEvidence.objects.count(), ShadowRecord.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_raise_on_mismatch_raises_after_the_last_row(make_pair, sample_everything, settings, team):
    """SHADOW_RAISE_ON_MISMATCH (tests): every row is served, then ShadowMismatchError names the first difference."""
    settings.SHADOW_RAISE_ON_MISMATCH = True
    log: list[str] = []
    pair = make_pair(
        legacy=RowSource("legacy", log, ROWS), optimized=RowSource("optimized", log, WRONG_AT_17), stream=True
    )
    received: list = []

    with pytest.raises(ShadowMismatchError, match=r"^test\.pair: \[row 17\]\[1\]: 'Author 17' != 'Mallory Wrong'$"):
        consume(pair(team=team), received)

    assert received == ROWS


@pytest.mark.django_db
def test_a_sampled_stream_of_100000_rows_never_holds_them(make_pair, sample_everything, team):
    """100,000 rows of about 1 kB a side (some 100 MB each if kept) pass through a sampled call in under 30 MB.

    The optimized export's own memory over 100,000 PRs is measured in tests/metrics/contracts/test_pr_export.py.
    """

    def big_rows(*, team):
        for n in range(100_000):
            yield [f"{n:06d}", "x" * 1000]

    pair = make_pair(legacy=big_rows, optimized=big_rows, stream=True, time_budget_ms=600_000)

    tracemalloc.start()
    try:
        served = sum(1 for _ in pair(team=team))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert served == 100_000
    assert peak < 30 * 1024 * 1024
    assert (evidence(team).matches, ShadowRecord.objects.count()) == (1, 0)


# --- on demand -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_compare_consumes_both_streams_and_returns_the_first_difference(make_pair, team):
    """shadow.compare on a stream pair: both sides read to the end, digests, counts and the first differing row."""
    log: list[str] = []
    make_pair(
        legacy=RowSource("legacy", log, ROWS, queries=1),
        optimized=RowSource("optimized", log, WRONG_AT_17),
        stream=True,
    )

    comparison = shadow.compare(PAIR, team=team)

    assert (comparison.outcome, comparison.served) == ("mismatch", "none")
    assert comparison.diff == ["[row 17][1]: [redacted] != [redacted]"]
    assert comparison.first_difference == RowDifference(
        index=17, legacy=["PR 17", "Author 17"], optimized=["PR 17", "Mallory Wrong"]
    )
    assert comparison.differing_rows == 1
    assert (comparison.legacy.value.rows, comparison.optimized.value.rows) == (30, 30)
    assert comparison.legacy.value.sha256 != comparison.optimized.value.sha256
    assert (comparison.legacy.measurement.queries, comparison.optimized.measurement.queries) == (30, 0)
    assert ShadowRecord.objects.get().diff == [
        {
            "path": "[row 17][1]", "line": "[row 17][1]: 'Author 17' != 'Mallory Wrong'",
            "redacted": "[row 17][1]: [redacted] != [redacted]",
            "legacy": "'Author 17'", "optimized": "'Mallory Wrong'",
            "legacy_redacted": "[redacted]", "optimized_redacted": "[redacted]",
        }
    ]


@pytest.mark.django_db
def test_compare_of_equal_streams_matches(make_pair, team):
    """Equal rows: a match with equal summaries."""

    def streams(*, team):
        yield from ROWS

    make_pair(legacy=streams, optimized=streams, stream=True)

    comparison = shadow.compare(PAIR, team=team)

    assert (comparison.matched, comparison.diff, comparison.first_difference) == (True, [], None)
    assert comparison.legacy.value == comparison.optimized.value
    assert comparison.legacy.value == StreamSummary(rows=30, sha256=comparison.legacy.value.sha256)
    assert evidence(team).matches == 1


@pytest.mark.django_db
def test_a_stream_side_that_writes_is_stopped_before_the_write_and_recorded(make_pair, team):
    """Stream pairs only read: inside a transaction a write is refused before PostgreSQL sees it."""

    def streams(*, team):
        yield from ROWS

    def writes_then_streams(*, team):
        TeamMemberFactory(team=team, display_name="Temporary")
        yield from ROWS

    make_pair(legacy=streams, optimized=writes_then_streams, stream=True)

    comparison = shadow.compare(PAIR, team=team)

    assert comparison.outcome == "error"
    assert "the shadow side tried to write (INSERT)" in comparison.error_text
    assert TeamMember.objects.filter(team=team).count() == 0


# --- outside a transaction -----------------------------------------------------------------------


def members_by_cursor(*, team):
    """Members read through a server-side cursor, two per round trip."""
    for member in TeamMember.objects.filter(team=team).order_by("id").iterator(chunk_size=2):
        yield [member.display_name]


def members_by_cursor_too(*, team):
    for member in TeamMember.objects.filter(team=team).order_by("id").iterator(chunk_size=2):
        yield [member.display_name]


@pytest.mark.django_db(transaction=True)
def test_server_side_cursors_of_both_sides_interleave_in_autocommit(make_pair, sample_everything, team):
    """Autocommit, as a streamed response is sent: both sides' WITH HOLD cursors advance in lockstep.

    The sampled call serves every row and matches; shadow.compare matches too; the session's
    statement_timeout is what it was before.
    """
    names = [f"Member {n}" for n in range(7)]
    for name in names:
        TeamMemberFactory(team=team, display_name=name)
    make_pair(legacy=members_by_cursor, optimized=members_by_cursor_too, stream=True)
    pair = registry.get(PAIR)

    assert connection.get_autocommit() is True
    served = list(pair(team=team))
    comparison = shadow.compare(PAIR, team=team)

    assert served == [[name] for name in names]
    assert (comparison.outcome, comparison.legacy.value.rows) == ("match", 7)
    assert (evidence(team).runs, evidence(team).matches) == (2, 2)
    assert statement_timeout() == "0"
