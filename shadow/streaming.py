"""Running one side of a stream pair: row by row, measured, digested, and (as the shadow) contained.

A stream pair's sides return iterators of rows (an export, say). Nothing here
holds a whole stream: each side keeps a row count and a running SHA-256 over
the canonical encoding of its rows, and FirstDifference keeps only the first
row at which the two sides differ (its index and both rows). How the rows are
served and judged is shadow.dispatch's and shadow.judging's business.

Containment (the shadow side, or both sides on demand)
    An exception, or its time budget (the time spent inside its own next()
    calls) running out, stops the side and is recorded on its SideRun as an
    error or a timeout. Each SQL statement it sends runs under
    statement_timeout = its remaining budget and, inside a transaction, in a
    savepoint of its own, so a failing statement leaves the caller's
    transaction usable. Rows that a server-side cursor fetches afterwards
    (FETCH) are outside that protection: the budget is checked again after
    every row, but a FETCH failing inside a transaction aborts it. Outside a
    transaction (autocommit, as a streamed response is usually sent) every
    statement stands alone anyway.

The served side is not contained: what it raises reaches the caller.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

from django.db import connection, transaction

from shadow.diff import canonical_key, normalise
from shadow.errors import ShadowTimeout, ShadowWriteRefused
from shadow.measure import Execute, Measurement, Meter, ran_out_of_time
from shadow.outcome import RowDifference, SideRun, StreamSummary
from shadow.pairs import Pair

logger = logging.getLogger(__name__)

# The value advance() returns once a side has no more rows (rows themselves may be None).
END: Any = object()


def row_encoding(row: Any) -> bytes:
    """The canonical bytes of a row: equal for rows shadow.diff.compare calls equal without tolerance."""
    # diff's sort key for unordered lists is exactly such a canonical text (dict keys sorted, 12 == 12.00).
    return canonical_key(normalise(row)).encode("utf-8", "surrogatepass")


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Statements (or row locks) a reading side never needs.
WRITES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|CREATE|ALTER|DROP|LOCK|GRANT)\b|\bFOR\s+(UPDATE|SHARE|NO KEY)\b",
    re.IGNORECASE,
)


def refuse_writes(sql: str) -> None:
    """The shadow side of a stream (a read pair) may only read."""
    match = WRITES.search(sql)
    if match:
        raise ShadowWriteRefused(f"the shadow side tried to write ({match.group().upper()}); read pairs only read")


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
        self.session_read_only: str | None = None
        self.savepoint_numbers = itertools.count(1)

    def __call__(self, execute: Execute, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if not self.contained:
            return super().__call__(execute, sql, params, many, context)
        # A contained side always has a budget, so advance() has set the deadline.
        remaining_ms = (cast(float, self.deadline) - time.perf_counter()) * 1000
        if remaining_ms <= 0:
            raise ShadowTimeout("time budget exceeded")
        database = context["connection"]
        driver = database.connection
        if self.session_timeout is None:
            self.session_timeout, self.session_read_only = driver.execute(
                "SELECT current_setting('statement_timeout'), current_setting('default_transaction_read_only')"
            ).fetchone()
        timeout, restore = max(1, int(remaining_ms)), _sql_literal(self.session_timeout)
        if database.get_autocommit():
            # Each statement is its own transaction here: a read-only one, so PostgreSQL refuses any write.
            driver.execute(f"SET statement_timeout = {timeout}; SET default_transaction_read_only = on")
            try:
                return super().__call__(execute, sql, params, many, context)
            finally:
                driver.execute(
                    f"SET statement_timeout = {restore}; "
                    f"SET default_transaction_read_only = {_sql_literal(str(self.session_read_only))}"
                )
        # Inside the caller's transaction a released savepoint cannot drop read-only mode again (and a
        # declared cursor needs the release), so writes are refused here, before they are sent.
        refuse_writes(sql)
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
        self, pair: Pair[Any, Any], side: str, kwargs: dict[str, Any], *, contained: bool,
        budget_ms: int | None = None, guard_first_row: bool = False,
    ):
        self.function = pair.side(side)
        self.kwargs = kwargs
        self.contained = contained
        self.budget_seconds = budget_ms / 1000 if contained and budget_ms is not None else None
        self.guard_first_row = guard_first_row
        self.run = SideRun(side)
        self.meter = StreamMeter(contained=contained)
        self.iterator: Iterator[Any] | None = None
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
        marked_for_rollback = connection.needs_rollback
        try:
            with self._first_row_savepoint(), connection.execute_wrapper(self.meter):
                if not self.started:
                    self.started = True
                    self.iterator = iter(self.function(**self.kwargs))
                # Set just above on the first advance; close() clears it only once the side has ended.
                row = next(cast(Iterator[Any], self.iterator), END)
        except Exception as error:
            self.ended = True
            if not self.contained:
                self.run.error = error
                raise
            if connection.in_atomic_block:
                # Every statement of a contained side ran in its own savepoint, rolled back on failure, or was
                # refused before it was sent: the caller's transaction is intact, whatever the ORM concluded.
                connection.needs_rollback = marked_for_rollback
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

    def _first_row_savepoint(self) -> AbstractContextManager[None]:
        if self.guard_first_row and not self.started and not connection.get_autocommit():
            return transaction.atomic()
        return nullcontext()

    def _record_failure(self, error: Exception) -> None:
        if ran_out_of_time(error):
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
