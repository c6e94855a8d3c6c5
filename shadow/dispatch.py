"""Serving a pair call: which side serves, whether the call is sampled, the dual run, the deferred enqueue.

The caller's guarantee: what a pair call returns or raises is exactly what
the serving side returns or raises without shadowing. Everything the shadow
adds (the other side's run, its errors and timeouts, the comparison, the
reporters) is caught and recorded, never raised. When the optimized side
serves and raises, the call falls back to legacy and the error is recorded.

Where a sampled plain pair's shadow side runs:
- a read pair called outside a transaction (a request, a task): in a thread
  of its own beside the serving side (shadow.threads); the caller waits for it
  at most the pair's time budget, whatever the side does;
- a read pair called inside a transaction: in the caller's thread, in a
  read-only savepoint (it must see the caller's uncommitted rows); a slow
  statement is cut at the budget, Python code between statements is not;
- a write pair: first, in the caller's thread, in a savepoint rolled back
  before the serving side writes (shadow.execution.run_isolated);
- a deferred pair: in a Celery worker, after the caller's transaction commits.

Stream pairs keep the same promises row by row:

Unsampled
    Legacy serves: the caller gets legacy's own iterator. Optimized serves: if
    it fails before its first row, legacy's rows serve instead and the error is
    recorded, as for plain pairs. Once a row was sent the response is partly
    out, so a later failure reaches the caller and is recorded as an optimized
    error (it counts towards the guarded rollback).
Sampled
    The caller gets a generator yielding the served side's rows; before each
    row goes out, the shadow side (contained, see shadow.streaming) is
    advanced by one row (lockstep). When the served rows end, the shadow's
    remaining rows are drained (within its budget) so the lengths can be
    compared; then the call is judged and reported through the usual
    reporters. If the consumer stops early (the generator is closed, e.g. the
    client went away), both iterators are closed and nothing is reported: a
    partial export says nothing about the rows never produced.

ShadowConfig.ready installs call_pair as the pairs' dispatcher.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from django.db import connection, transaction

import flags
from shadow import conf, sampling, testing
from shadow.codec import encode_call
from shadow.execution import atomically, run_isolated, run_served
from shadow.judging import check_cache, judge, judge_and_report, judge_streams, raise_if_mismatch
from shadow.outcome import LEGACY, OPTIMIZED, Comparison, SideRun, other_side, same_error
from shadow.pairs import Pair
from shadow.reporters import SKIPPED, report_serving_error
from shadow.streaming import END, FirstDifference, SideStream
from shadow.tasks import compare_deferred_task
from shadow.threads import THREADS, in_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")


# --- the entry point ------------------------------------------------------------


def call_pair(pair: Pair[Any, Any], kwargs: dict[str, Any]) -> Any:
    team = kwargs.get("team")
    try:
        served = served_side(pair, team)
        sampled = team is not None and sampling.should_sample(pair.name, team)
    except Exception:
        # The rollout decision itself failed (cache or database trouble): the reference serves.
        logger.exception("Rollout decision for %s failed; legacy serves", pair.name)
        return pair.legacy(**kwargs)
    if pair.stream:
        return lockstep(pair, kwargs, served) if sampled else serve_stream(pair, kwargs, served)
    if not sampled:
        return serve(pair, kwargs, served)
    if pair.deferred:
        value = serve(pair, kwargs, served)
        enqueue_deferred(pair, kwargs, served)
        return value
    return dual_run(pair, kwargs, served)


def served_side(pair: Pair[Any, Any], team: Any) -> str:
    forced = testing.forced_side(pair.name)
    if forced is not None:
        return forced
    return OPTIMIZED if team is not None and flags.is_enabled(pair.name, team=team) else LEGACY


def fall_back(pair: Pair[Any, Any], kwargs: dict[str, Any], optimized_error: Exception, legacy: Callable[[], T]) -> T:
    """The optimized side failed while serving: legacy serves instead, and the failure is recorded.

    Both sides refusing the call alike (bad input) is agreement, not an
    optimized failure: legacy's error reaches the caller, nothing is recorded.
    """
    try:
        value = legacy()
    except Exception as legacy_error:
        if not same_error(optimized_error, legacy_error):
            report_serving_error(pair, kwargs, optimized_error)
        raise
    report_serving_error(pair, kwargs, optimized_error)
    return value


def caller_savepoint() -> AbstractContextManager[Any]:
    """A savepoint inside the caller's transaction, so legacy can still run there after optimized fails."""
    return nullcontext() if connection.get_autocommit() else transaction.atomic()


# --- plain pairs ------------------------------------------------------------------


def serve(pair: Pair[Any, Any], kwargs: dict[str, Any], served: str) -> Any:
    """An unsampled call: the served side alone; an optimized failure falls back to legacy."""
    if served == LEGACY:
        # A write pair's legacy side runs in a savepoint too, so a lost deadlock can be retried once.
        return atomically(pair, lambda: pair.legacy(**kwargs)) if pair.writes else pair.legacy(**kwargs)
    try:
        return atomically(pair, lambda: pair.optimized(**kwargs))
    except Exception as error:
        return fall_back(pair, kwargs, error, lambda: pair.legacy(**kwargs))


def isolated_arguments(pair: Pair[Any, Any], kwargs: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Each side's own deep copy of the call's arguments (the team included), or None when they cannot be copied.

    Neither side can then change what the other side, or the caller, sees.
    """
    try:
        return {side: copy.deepcopy(kwargs) for side in (LEGACY, OPTIMIZED)}
    except Exception:
        logger.warning("Arguments of %s cannot be copied; the call is served without a comparison", pair.name)
        return None


def dual_run(pair: Pair[Any, Any], kwargs: dict[str, Any], served: str) -> Any:
    own = isolated_arguments(pair, kwargs)
    if own is None:
        return serve(pair, kwargs, served)
    shadow = other_side(served)
    # A cached pair's sampled call computes both sides: two computations are compared, and the caller
    # gets a fresh value; the cache entry is checked on its own (check_cache).
    running = pair.computing()
    runs: dict[str, SideRun] = {}
    if in_thread(pair):
        # The shadow runs beside the serving side; the caller waits for it at most its budget.
        thread = THREADS.start(running, shadow, own[shadow])
        if thread is None:
            SKIPPED.count(pair.name)
            return serve(pair, kwargs, served)
        runs[served] = run_served(running, served, own[served])
        runs[shadow] = thread.wait()
    else:
        # Write pairs run the shadow side first, rolled back, so both sides start from the same rows.
        order = [shadow, served] if pair.writes else random.sample([served, shadow], 2)
        for side in order:
            runs[side] = (
                run_served(running, side, own[side]) if side == served else run_isolated(running, side, own[side])
            )

    def verdict() -> Comparison:
        comparison = judge(pair, kwargs, served, runs[LEGACY], runs[OPTIMIZED])
        comparison.cache_check = check_cache(pair, kwargs, runs[OPTIMIZED])
        if comparison.outcome == "mismatch" and served == OPTIMIZED and not pair.writes:
            # Legacy is the reference and already answered this very call: the caller gets its answer.
            comparison.answered_with = LEGACY
        return comparison

    comparison = judge_and_report(pair, verdict)

    served_run = runs[served]
    if comparison is not None and comparison.answered_with == LEGACY:
        result = runs[LEGACY].value
    elif served_run.error is None:
        result = served_run.value
    elif served == LEGACY:
        raise served_run.error
    elif not pair.writes and not runs[LEGACY].failed:
        # Legacy already computed the same call in this request; its answer serves.
        result = runs[LEGACY].value
    else:
        result = pair.legacy(**kwargs)
    raise_if_mismatch(pair, comparison)
    return result


def enqueue_deferred(pair: Pair[Any, Any], kwargs: dict[str, Any], served: str) -> None:
    """Queue the comparison for a worker once the caller's transaction commits; never raises."""
    try:
        arguments = encode_call(kwargs)
        team_id = kwargs["team"].pk
    except Exception:
        logger.exception("Deferred comparison of %s could not be queued", pair.name)
        return
    queue = conf.get("SHADOW_DEFERRED_QUEUE")
    routing = {"queue": queue} if queue else {}

    def send() -> None:
        try:
            compare_deferred_task.apply_async((pair.name, team_id, arguments, served), **routing)
        except Exception:
            logger.exception("Deferred comparison of %s could not be queued", pair.name)

    transaction.on_commit(send)


# --- stream pairs -------------------------------------------------------------------


def first_row(rows: Iterable[Any]) -> tuple[Iterator[Any], Any]:
    """Start a side's iterator and take its first row (END when it has none)."""
    iterator = iter(rows)
    return iterator, next(iterator, END)


def serve_stream(pair: Pair[Any, Any], kwargs: dict[str, Any], served: str) -> Iterator[Any]:
    """An unsampled stream call: legacy's own iterator, or optimized's rows guarded as the module docstring says."""
    if served == LEGACY:
        legacy_rows: Iterator[Any] = pair.legacy(**kwargs)
        return legacy_rows
    return optimized_rows(pair, kwargs)


def optimized_rows(pair: Pair[Any, Any], kwargs: dict[str, Any]) -> Iterator[Any]:
    """Optimized's rows, unsampled: legacy's if optimized fails before its first row; a later failure propagates."""
    iterator: Iterator[Any] | None = None
    try:
        try:
            with caller_savepoint():
                iterator, row = first_row(pair.optimized(**kwargs))
        except Exception as error:
            iterator, row = fall_back(pair, kwargs, error, lambda: first_row(pair.legacy(**kwargs)))
            if row is not END:
                yield row
                yield from iterator
            return
        sent = 0
        while row is not END:
            yield row
            sent += 1
            try:
                row = next(iterator, END)
            except Exception as error:
                report_serving_error(pair, kwargs, error, detail=f"failed after {sent} rows were sent")
                raise
    finally:
        # Also when the consumer stops early: the server-side cursor is released now, not at garbage collection.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def lockstep(pair: Pair[Any, Any], kwargs: dict[str, Any], served: str) -> Iterator[Any]:
    """A sampled stream call: the served side's rows, the shadow side advanced one row per served row."""
    own = isolated_arguments(pair, kwargs)
    if own is None:
        yield from serve_stream(pair, kwargs, served)
        return
    shadow = other_side(served)
    sides = {
        served: SideStream(pair, served, own[served], contained=False, guard_first_row=served == OPTIMIZED),
        shadow: SideStream(pair, shadow, own[shadow], contained=True, budget_ms=pair.budget_ms),
    }
    main, other = sides[served], sides[shadow]
    tally = FirstDifference()

    def verdict() -> Any:
        return judge_streams(pair, kwargs, served, sides, tally)

    done = False
    try:
        while True:
            try:
                row = main.advance()
            except Exception:
                if other.rows == main.rows:
                    # Give the shadow the same chance to refuse: both failing alike is agreement.
                    other.advance()
                judge_and_report(pair, verdict)
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
    raise_if_mismatch(pair, judge_and_report(pair, verdict))
