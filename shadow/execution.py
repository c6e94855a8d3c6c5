"""Running one side of a plain (non-stream) pair: for real when it serves, contained when it is the shadow.

Both return a SideRun holding the side's value or error and its
measurement; for write pairs also the rows it wrote (the pair's snapshot).
Streams have their own runner (shadow.streaming), which keeps the same
promises row by row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DatabaseError, connection, transaction

from shadow import conf
from shadow.measure import DEADLOCK_DETECTED, Meter, blocked_by_lock, measured, ran_out_of_time, sqlstate
from shadow.outcome import OPTIMIZED, SideRun
from shadow.pairs import Pair

logger = logging.getLogger(__name__)

T = TypeVar("T")


def atomically(pair: Pair[Any, Any], call: Callable[[], T]) -> T:
    """call() in a savepoint (or a transaction); a write pair's call that loses a deadlock runs once more.

    The deadlock's other party has gone on by then (PostgreSQL aborted this
    side's statement to let it), so the second attempt usually goes through;
    a second deadlock reaches the caller.

    A read pair called outside any transaction runs as it is: a failed read leaves no transaction to
    clean up, so a BEGIN and a COMMIT per call (two round trips on every dashboard card) would buy nothing.
    """
    if not pair.writes and connection.get_autocommit():
        return call()
    try:
        with transaction.atomic():
            return call()
    except DatabaseError as error:
        if not pair.writes or sqlstate(error) != DEADLOCK_DETECTED:
            raise
        logger.warning("The serving side of %s lost a deadlock; running it once more", pair.name)
    with transaction.atomic():
        return call()


def run_served(pair: Pair[Any, Any], side: str, kwargs: dict[str, Any]) -> SideRun:
    """The serving side, for real. Optimized runs in a savepoint so its failure leaves legacy a clean transaction.

    A write pair's serving side also runs in a savepoint, so a lost deadlock can be retried once.
    """
    run = SideRun(side)
    meter: Meter | None = None
    function = pair.side(side)

    def attempt() -> Any:
        nonlocal meter
        with measured() as meter:
            return function(**kwargs)

    try:
        # The savepoint is the runner's, not the side's: its statements stay outside the measurement.
        run.value = atomically(pair, attempt) if side == OPTIMIZED or pair.writes else attempt()
    except Exception as error:
        run.error = error
    run.measurement = meter.measurement if meter else None
    if pair.writes and run.error is None:
        try:
            with transaction.atomic():
                run.state = snapshot(pair, kwargs)
        except Exception as error:
            run.snapshot_error = f"snapshot: {type(error).__name__}: {error}"
    return run


def run_isolated(pair: Pair[Any, Any], side: str, kwargs: dict[str, Any]) -> SideRun:
    """One side inside a savepoint that is always rolled back, cut off at the pair's time budget.

    It waits for a row lock at most SHADOW_LOCK_TIMEOUT_MS: then, or when
    PostgreSQL picks it as a deadlock's victim, it is "blocked" and the run is
    inconclusive (never a mismatch or an error), so the shadow never keeps a
    served call waiting behind its locks for long, nor deadlocks it.
    """
    budget_ms = pair.budget_ms
    deadline = time.perf_counter() + budget_ms / 1000
    function = pair.side(side)
    run = SideRun(side)
    meter: Meter | None = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # A single slow statement is cancelled by the server; loops of queries by the meter's deadline.
                # A read pair's shadow side cannot write at all: PostgreSQL refuses it, and the savepoint's
                # rollback ends the read-only mode with it. Write pairs write, and are rolled back.
                read_only = "" if pair.writes else "; SET LOCAL transaction_read_only = on"
                lock_wait = int(conf.get("SHADOW_LOCK_TIMEOUT_MS"))
                cursor.execute(
                    f"SET LOCAL statement_timeout = {int(budget_ms)}; SET LOCAL lock_timeout = {lock_wait}{read_only}"
                )
            try:
                with measured(deadline=deadline) as meter:
                    run.value = function(**kwargs)
                if pair.writes:
                    try:
                        run.state = snapshot(pair, kwargs)
                    except Exception as error:
                        run.snapshot_error = f"snapshot: {type(error).__name__}: {error}"
                        raise
            finally:
                transaction.set_rollback(True)
    except Exception as error:
        if ran_out_of_time(error):
            run.timed_out = True
        else:
            run.error = error
            run.blocked = blocked_by_lock(error)
    run.measurement = meter.measurement if meter else None
    if not run.failed and run.measurement and run.measurement.wall_ms > budget_ms:
        # Finished, but late: what it returned cannot count as evidence.
        run.timed_out = True
    return run


def snapshot(pair: Pair[Any, Any], kwargs: dict[str, Any]) -> Any:
    """The rows a write pair's side left, read back by the pair's snapshot function."""
    assert pair.snapshot is not None, "write pairs are declared with a snapshot"
    return pair.snapshot(**kwargs)
