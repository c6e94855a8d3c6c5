"""Running one side of a plain (non-stream) pair: for real when it serves, contained when it is the shadow.

Both return a SideRun holding the side's value or error and its
measurement; for write pairs also the rows it wrote (the pair's snapshot).
Streams have their own runner (shadow.streaming), which keeps the same
promises row by row.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection, transaction

from shadow.measure import Meter, measured, ran_out_of_time
from shadow.outcome import OPTIMIZED, SideRun
from shadow.pairs import Pair


def run_served(pair: Pair[Any, Any], side: str, kwargs: dict[str, Any]) -> SideRun:
    """The serving side, for real. Optimized runs in a savepoint so its failure leaves legacy a clean transaction."""
    run = SideRun(side)
    meter: Meter | None = None
    try:
        if side == OPTIMIZED:
            # The savepoint is the runner's, not the side's: its statements stay outside the measurement.
            with transaction.atomic(), measured() as meter:
                run.value = pair.optimized(**kwargs)
        else:
            with measured() as meter:
                run.value = pair.legacy(**kwargs)
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
    """One side inside a savepoint that is always rolled back, cut off at the pair's time budget."""
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
                cursor.execute(f"SET LOCAL statement_timeout = {int(budget_ms)}{read_only}")
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
    run.measurement = meter.measurement if meter else None
    if not run.failed and run.measurement and run.measurement.wall_ms > budget_ms:
        # Finished, but late: what it returned cannot count as evidence.
        run.timed_out = True
    return run


def snapshot(pair: Pair[Any, Any], kwargs: dict[str, Any]) -> Any:
    """The rows a write pair's side left, read back by the pair's snapshot function."""
    assert pair.snapshot is not None, "write pairs are declared with a snapshot"
    return pair.snapshot(**kwargs)
