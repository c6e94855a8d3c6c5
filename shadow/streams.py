"""Stream pairs: both sides return iterators of rows, and rows are compared as they pass.

A pair declared with `stream=True` (an export, say) returns an iterator from
each side, and calling the pair returns an iterator too. Nothing here holds a
whole export: each side keeps a row count and a running SHA-256 over the
canonical encoding of its rows, and only the first row at which the two sides
differ is kept (its index and both rows).

Unsampled calls
    Legacy serves: the caller gets legacy's own iterator. Optimized serves: if
    it fails before its first row, legacy's rows serve instead and the error is
    recorded, as for plain pairs. Once a row was sent the response is partly
    out, so a later failure reaches the caller and is recorded as an optimized
    error (it counts towards the guarded rollback).

Sampled calls
    The caller gets a generator yielding the served side's rows; before each
    row goes out, the shadow side is advanced by one row (lockstep). When the
    served rows end, the shadow's remaining rows are drained (within its budget)
    so the lengths can be compared; then the call is judged (a match when both
    counts and digests are equal) and reported through the usual reporters.
    What goes wrong in judging or reporting never reaches the consumer.

    The first differing row is described with shadow.diff.compare on the two
    rows, each path prefixed with the row's index (`[row 17][0]: 'a' != 'b'`);
    different lengths add `#len: <legacy rows> != <optimized rows>`. Row
    contents count as personal data: redacted in Sentry, in full in the
    ShadowRecord. Comparison is exact on the canonical encoding (12 and 12.00
    alike); the pair's tolerance is not applied, and ignore and unordered
    rules are refused when the pair is declared.

    The shadow side is contained. An exception, or its time budget (the time
    spent inside its own next() calls) running out, stops it and is recorded
    as an error or a timeout while the served rows keep flowing. Each SQL
    statement it sends runs under statement_timeout = its remaining budget
    and, inside a transaction, in a savepoint of its own, so a failing
    statement leaves the caller's transaction usable. Rows that a server-side
    cursor fetches afterwards (FETCH) are outside that protection: the budget
    is checked again after every row, but a FETCH failing inside a transaction
    aborts it. Outside a transaction (autocommit, as a streamed response is
    usually sent) every statement stands alone anyway.

    The served side is not: what it raises reaches the caller as it is (an
    optimized failure before the first row falls back to legacy), and the
    call is recorded as an error.

    If the consumer stops early (the generator is closed, e.g. the client went
    away), both iterators are closed and nothing is reported: a partial export
    says nothing about the rows never produced.

On demand (`shadow.compare`)
    Both sides are consumed fully in lockstep, each contained as above and
    within its own budget, inside a savepoint that is rolled back.

Deferred comparison is not supported for streams (refused at registration).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction

from shadow import conf
from shadow.codec import describe_call
from shadow.diff import CompareRules, ComparisonResult, Difference, _canonical_key, compare, normalise
from shadow.errors import ShadowMismatchError, ShadowTimeout
from shadow.measure import Measurement, Meter
from shadow.registry import Pair
from shadow.runner import LEGACY, OPTIMIZED, QUERY_CANCELED, Comparison, SideRun, report, same_error

logger = logging.getLogger(__name__)

# The value advance() returns once a side has no more rows (rows themselves may be None).
END: Any = object()


@dataclass(frozen=True)
class StreamSummary:
    """What one side produced: its row count and the SHA-256 (hex) of its rows' canonical encodings."""

    rows: int
    sha256: str


@dataclass(frozen=True)
class RowDifference:
    """The first row (0-based index) at which the two sides differ, both rows in full (normalised)."""

    index: int
    legacy: Any
    optimized: Any


@dataclass
class StreamComparison(Comparison):
    """A Comparison of two streams, plus their first differing row.

    differing_rows counts the indices at which both sides produced a row and
    the rows differ; rows beyond the shorter side show as the "#len" difference.
    """

    first_difference: RowDifference | None = None
    differing_rows: int = 0


def row_encoding(row: Any) -> bytes:
    """The canonical bytes of a row: equal for rows shadow.diff.compare calls equal without tolerance."""
    # diff's sort key for unordered lists is exactly such a canonical text (dict keys sorted, 12 == 12.00).
    return _canonical_key(normalise(row)).encode("utf-8", "surrogatepass")


def time_budget_ms(pair: Pair) -> int:
    return pair.time_budget_ms or conf.get("SHADOW_TIME_BUDGET_MS")


# --- one side ---------------------------------------------------------------------------


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class StreamMeter(Meter):
    """Counts one side's queries over all its advances; a contained side's statements are isolated one by one.

    A contained statement runs under statement_timeout = the side's remaining
    budget and, in a transaction, inside its own savepoint: released when it
    succeeds (a server-side cursor it declared stays open), rolled back when it
    fails. The session's statement_timeout is put back after every statement.
    These extra statements go straight to the driver: they are the runner's,
    not the side's, so they stay out of the measurement.
    """

    def __init__(self, *, contained: bool):
        super().__init__(deadline=None)
        self.contained = contained
        self.session_timeout: str | None = None
        self.savepoint_numbers = itertools.count(1)

    def __call__(self, execute, sql, params, many, context):
        if not self.contained:
            return super().__call__(execute, sql, params, many, context)
        remaining_ms = (self.deadline - time.perf_counter()) * 1000
        if remaining_ms <= 0:
            raise ShadowTimeout("time budget exceeded")
        database = context["connection"]
        driver = database.connection
        if self.session_timeout is None:
            self.session_timeout = driver.execute("SHOW statement_timeout").fetchone()[0]
        timeout, restore = max(1, int(remaining_ms)), _sql_literal(self.session_timeout)
        if database.get_autocommit():
            driver.execute(f"SET statement_timeout = {timeout}")
            try:
                return super().__call__(execute, sql, params, many, context)
            finally:
                driver.execute(f"SET statement_timeout = {restore}")
        savepoint = f"shadow_stream_{next(self.savepoint_numbers)}"
        driver.execute(f"SAVEPOINT {savepoint}; SET LOCAL statement_timeout = {timeout}")
        try:
            result = super().__call__(execute, sql, params, many, context)
        except BaseException:
            driver.execute(f"ROLLBACK TO SAVEPOINT {savepoint}; RELEASE SAVEPOINT {savepoint}")
            raise
        driver.execute(f"RELEASE SAVEPOINT {savepoint}; SET LOCAL statement_timeout = {restore}")
        return result


class SideStream:
    """One side's iterator in a lockstep run: its rows so far, running digest, measurement and how it ended.

    contained: failures and a spent budget end the side and are recorded on
    `run` (the shadow side, or both sides on demand). Otherwise advance()
    raises what the side raises (the served side).
    guard_first_row: run the call and the first row inside a savepoint when in
    a transaction, so that legacy can still serve after a failure there.
    """

    def __init__(
        self, pair: Pair, side: str, kwargs: dict, *, contained: bool, budget_ms: int | None = None,
        guard_first_row: bool = False,
    ):
        self.function = pair.legacy if side == LEGACY else pair.optimized
        self.kwargs = kwargs
        self.contained = contained
        self.budget_seconds = budget_ms / 1000 if contained and budget_ms is not None else None
        self.guard_first_row = guard_first_row
        self.run = SideRun(side)
        self.meter = StreamMeter(contained=contained)
        self.iterator: Iterator | None = None
        self.started = False
        self.ended = False
        self.rows = 0
        self.digest = hashlib.sha256()
        self.last_row: Any = None
        self.last_encoding = b""
        self.wall_seconds = 0.0
        self.cpu_seconds = 0.0

    def advance(self) -> Any:
        """The side's next row, or END once it has none (exhausted, failed, timed out or closed)."""
        if self.ended:
            return END
        wall_start, cpu_start = time.perf_counter(), time.thread_time()
        if self.budget_seconds is not None:
            self.meter.deadline = wall_start + self.budget_seconds - self.wall_seconds
        try:
            with self._first_row_savepoint(), connection.execute_wrapper(self.meter):
                if not self.started:
                    self.started = True
                    self.iterator = iter(self.function(**self.kwargs))
                row = next(self.iterator, END)
        except Exception as error:
            self.ended = True
            if not self.contained:
                self.run.error = error
                raise
            self._record_failure(error)
            return END
        finally:
            self.wall_seconds += time.perf_counter() - wall_start
            self.cpu_seconds += time.thread_time() - cpu_start
        if row is END:
            self.ended = True
            return END
        self.rows += 1
        self.last_row = row
        self.last_encoding = row_encoding(row)
        self.digest.update(len(self.last_encoding).to_bytes(8, "big"))
        self.digest.update(self.last_encoding)
        if self.budget_seconds is not None and self.wall_seconds > self.budget_seconds:
            # The row came, but late: the side stops here, as if cut off during its next query.
            self.run.timed_out = True
            self.close()
        return row

    def _first_row_savepoint(self) -> AbstractContextManager:
        if self.guard_first_row and not self.started and not connection.get_autocommit():
            return transaction.atomic()
        return nullcontext()

    def _record_failure(self, error: Exception) -> None:
        cancelled = isinstance(error, DatabaseError) and getattr(error.__cause__, "sqlstate", None) == QUERY_CANCELED
        if isinstance(error, ShadowTimeout) or cancelled:
            self.run.timed_out = True
        else:
            self.run.error = error

    def close(self) -> None:
        """Stop the side; a suspended generator is closed now, so its cursor is released at once."""
        self.ended = True
        iterator, self.iterator = self.iterator, None
        close = getattr(iterator, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception:
            logger.warning("Closing the %s side of a stream raised", self.run.side, exc_info=True)

    def summary(self) -> StreamSummary:
        return StreamSummary(rows=self.rows, sha256=self.digest.hexdigest())

    def measurement(self) -> Measurement:
        return Measurement(
            wall_ms=self.wall_seconds * 1000,
            cpu_ms=self.cpu_seconds * 1000,
            queries=self.meter.queries,
            query_ms=self.meter.query_seconds * 1000,
        )


class FirstDifference:
    """Watches rows at equal indices: counts those that differ and keeps only the first pair."""

    def __init__(self) -> None:
        self.first: RowDifference | None = None
        self.differing_rows = 0

    def observe(self, legacy: SideStream, optimized: SideStream) -> None:
        """Both sides have just produced their row at the same index."""
        if legacy.last_encoding == optimized.last_encoding:
            return
        self.differing_rows += 1
        if self.first is None:
            self.first = RowDifference(
                index=legacy.rows - 1, legacy=normalise(legacy.last_row), optimized=normalise(optimized.last_row)
            )


# --- the verdict --------------------------------------------------------------------------


def describe(
    rules: CompareRules, first: RowDifference | None, legacy_rows: int, optimized_rows: int
) -> ComparisonResult:
    """The first differing row's differences (personal, paths under `[row N]`), then a length difference."""
    differences: list[Difference] = []
    if first is not None:
        # Exact like the digests: a tolerance could find no difference between rows the digests tell apart.
        exact = CompareRules(tolerance=Decimal(0), personal_fields=rules.personal_fields)
        found = compare(first.legacy, first.optimized, exact).differences or (
            Difference("", first.legacy, first.optimized, personal_fields=rules.personal_fields),
        )
        prefix = f"[row {first.index}]"
        differences.extend(replace(item, path=prefix + item.path, personal=True) for item in found)
    if legacy_rows != optimized_rows:
        differences.append(Difference("#len", legacy_rows, optimized_rows))
    return ComparisonResult(differences=tuple(differences))


def judge_streams(
    pair: Pair, kwargs: dict, served: str, legacy: SideStream, optimized: SideStream, tally: FirstDifference
) -> StreamComparison:
    """Close both sides and judge them: timeouts, then errors (alike on both sides is a match), then the rows."""
    for side in (legacy, optimized):
        side.close()
        side.run.value = side.summary()
        side.run.measurement = side.measurement()
    team = kwargs.get("team")
    comparison = StreamComparison(
        pair=pair.name,
        team_id=getattr(team, "pk", None),
        team_slug=getattr(team, "slug", ""),
        served=served,
        legacy=legacy.run,
        optimized=optimized.run,
        outcome="error",
        call_arguments=describe_call(kwargs),
        first_difference=tally.first,
        differing_rows=tally.differing_rows,
    )
    if legacy.run.timed_out or optimized.run.timed_out:
        comparison.outcome = "timeout"
    elif legacy.run.error is not None or optimized.run.error is not None:
        comparison.outcome = "match" if same_error(legacy.run.error, optimized.run.error) else "error"
    else:
        comparison.result = describe(pair.rules, tally.first, legacy.rows, optimized.rows)
        agree = legacy.rows == optimized.rows and legacy.digest.digest() == optimized.digest.digest()
        comparison.outcome = "match" if agree else "mismatch"
    return comparison


def judge_and_report(
    pair: Pair, kwargs: dict, served: str, sides: dict[str, SideStream], tally: FirstDifference
) -> StreamComparison | None:
    """Never raises: judging and reporting are shadow work, and the consumer is still reading rows."""
    try:
        comparison = judge_streams(pair, kwargs, served, sides[LEGACY], sides[OPTIMIZED], tally)
        report(pair, comparison)
    except Exception:
        logger.exception("Shadow comparison of the stream %s could not be judged", pair.name)
        return None
    return comparison


# --- entry points ----------------------------------------------------------------------------


def call_stream(pair: Pair, kwargs: dict, *, served: str, sampled: bool) -> Iterator:
    """A call of a stream pair after the rollout decision (see the module docstring)."""
    if sampled:
        return lockstep(pair, kwargs, served)
    if served == LEGACY:
        return pair.legacy(**kwargs)
    return serve_optimized(pair, kwargs)


def serve_optimized(pair: Pair, kwargs: dict) -> Iterator:
    """Optimized's rows, unsampled: legacy's if optimized fails before its first row; a later failure propagates."""
    iterator: Iterator | None = None
    try:
        try:
            # A failure rolls back to this savepoint, so legacy can still run in the caller's transaction.
            with (nullcontext() if connection.get_autocommit() else transaction.atomic()):
                iterator = iter(pair.optimized(**kwargs))
                row = next(iterator, END)
        except Exception as error:
            yield from fall_back_to_legacy(pair, kwargs, error)
            return
        sent = 0
        while row is not END:
            yield row
            sent += 1
            try:
                row = next(iterator, END)
            except Exception as error:
                from shadow.reporters import report_serving_error

                report_serving_error(
                    pair, kwargs, error, detail=f"failed after {sent} rows were sent"
                )
                raise
    finally:
        # Also when the consumer stops early: the server-side cursor is released now, not at garbage collection.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def fall_back_to_legacy(pair: Pair, kwargs: dict, optimized_error: Exception) -> Iterator:
    from shadow.reporters import report_serving_error

    try:
        iterator = iter(pair.legacy(**kwargs))
        row = next(iterator, END)
    except Exception as legacy_error:
        # Both sides refusing the call alike (bad input) is agreement, not an optimized failure.
        if not same_error(optimized_error, legacy_error):
            report_serving_error(pair, kwargs, optimized_error)
        raise
    report_serving_error(pair, kwargs, optimized_error)
    if row is not END:
        yield row
        yield from iterator


def lockstep(pair: Pair, kwargs: dict, served: str) -> Iterator:
    """A sampled call: the served side's rows, the shadow side advanced one row per served row."""
    shadow = LEGACY if served == OPTIMIZED else OPTIMIZED
    sides = {
        served: SideStream(pair, served, kwargs, contained=False, guard_first_row=served == OPTIMIZED),
        shadow: SideStream(pair, shadow, kwargs, contained=True, budget_ms=time_budget_ms(pair)),
    }
    main, other = sides[served], sides[shadow]
    tally = FirstDifference()
    done = False
    try:
        while True:
            try:
                row = main.advance()
            except Exception:
                if other.rows == main.rows:
                    # Give the shadow the same chance to refuse: both failing alike is agreement.
                    other.advance()
                judge_and_report(pair, kwargs, served, sides, tally)
                if served == OPTIMIZED and main.rows == 0:
                    done = True
                    yield from pair.legacy(**kwargs)
                    return
                raise
            if row is END:
                break
            if other.advance() is not END:
                tally.observe(sides[LEGACY], sides[OPTIMIZED])
            yield row
        while other.advance() is not END:
            # The shadow's extra rows: counted and digested, so the lengths can be compared.
            pass
        done = True
    finally:
        if not done:
            main.close()
            other.close()
    comparison = judge_and_report(pair, kwargs, served, sides, tally)
    if comparison is not None and comparison.outcome == "mismatch" and conf.get("SHADOW_RAISE_ON_MISMATCH"):
        raise ShadowMismatchError(f"{pair.name}: " + "; ".join(comparison.result.lines(redact=False, limit=20)))


def compare_streams(pair: Pair, kwargs: dict, *, served: str) -> StreamComparison:
    """Both sides consumed fully in lockstep, each contained and within its budget, then rolled back."""
    legacy, optimized = (
        SideStream(pair, side, kwargs, contained=True, budget_ms=time_budget_ms(pair)) for side in (LEGACY, OPTIMIZED)
    )
    tally = FirstDifference()
    with transaction.atomic():
        try:
            while not (legacy.ended and optimized.ended):
                legacy_row, optimized_row = legacy.advance(), optimized.advance()
                if legacy_row is not END and optimized_row is not END:
                    tally.observe(legacy, optimized)
        finally:
            legacy.close()
            optimized.close()
            transaction.set_rollback(True)
    return judge_streams(pair, kwargs, served, legacy, optimized, tally)
