"""Wall time, CPU time, SQL query count and SQL time of one side's run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from django.db import DatabaseError, connection

from shadow.errors import ShadowTimeout

# PostgreSQL's error codes: statement_timeout cut a statement off; lock_timeout gave up; the deadlock detector's victim.
QUERY_CANCELED = "57014"
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"


def sqlstate(error: BaseException) -> str | None:
    """PostgreSQL's error code behind a Django database error (None for any other error)."""
    return getattr(error.__cause__, "sqlstate", None) if isinstance(error, DatabaseError) else None


def ran_out_of_time(error: BaseException) -> bool:
    """Whether a side's error is its time budget running out: the meter's deadline or the server's timeout."""
    return isinstance(error, ShadowTimeout) or sqlstate(error) == QUERY_CANCELED


def blocked_by_lock(error: BaseException) -> bool:
    """Whether a side's error is a row lock it could not take: lock_timeout, or chosen as a deadlock's victim."""
    return sqlstate(error) in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED)


@dataclass(frozen=True)
class Measurement:
    wall_ms: float
    cpu_ms: float
    queries: int
    query_ms: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in asdict(self).items()}


# What connection.execute_wrapper hands a wrapper: the next step of running one statement.
Execute = Callable[[str, Any, bool, dict[str, Any]], Any]


class Meter:
    """A connection.execute_wrapper that counts and times queries, and enforces a deadline between them."""

    def __init__(self, deadline: float | None = None):
        self.deadline = deadline
        self.queries = 0
        self.query_seconds = 0.0
        self.measurement: Measurement | None = None

    def __call__(self, execute: Execute, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        # A side that loops over queries is stopped at its next query once its budget is spent.
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise ShadowTimeout("time budget exceeded")
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.query_seconds += time.perf_counter() - start


@contextmanager
def measured(*, deadline: float | None = None) -> Iterator[Meter]:
    """Measure the block; the Measurement is on the meter afterwards, also when the block raised."""
    meter = Meter(deadline)
    wall_start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        with connection.execute_wrapper(meter):
            yield meter
    finally:
        meter.measurement = Measurement(
            wall_ms=(time.perf_counter() - wall_start) * 1000,
            cpu_ms=(time.thread_time() - cpu_start) * 1000,
            queries=meter.queries,
            query_ms=meter.query_seconds * 1000,
        )
