"""Dispatch of a pair call, the dual run on sampled calls, and on-demand comparisons.

The caller's guarantee: what a pair call returns or raises is exactly what
the serving side returns or raises without shadowing. Everything the shadow
adds (the other side's run, its errors and timeouts, the comparison, the
reporters) is caught and recorded, never raised. When the optimized side
serves and raises, the call falls back to legacy and the error is recorded.
Stream pairs (Pair.stream) are dispatched to shadow/streams.py, which keeps
the same promises row by row.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, transaction
from django.db import connection as db_connection

from shadow import conf, sampling
from shadow import registry as pair_registry
from shadow import testing
from shadow.diff import ComparisonResult, compare
from shadow.errors import ShadowMismatchError, ShadowTimeout
from shadow.measure import Measurement, measured
from shadow.registry import Pair

logger = logging.getLogger(__name__)

LEGACY, OPTIMIZED, NONE = "legacy", "optimized", "none"
QUERY_CANCELED = "57014"


@dataclass
class SideRun:
    side: str
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    measurement: Measurement | None = None
    # For write pairs: the rows the side wrote, read back by the pair's snapshot.
    state: Any = None
    snapshot_error: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timed_out

    @property
    def error_text(self) -> str:
        if self.timed_out:
            return "timed out"
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def observed(self, *, writes: bool) -> Any:
        return {"result": self.value, "state": self.state} if writes else self.value


@dataclass
class Comparison:
    """One dual run: both sides' runs and measurements, and the verdict.

    outcome: "match", "mismatch", "error" (a side or the comparator raised;
    both sides raising the same error counts as a match) or "timeout".
    """

    pair: str
    team_id: int
    team_slug: str
    served: str
    legacy: SideRun
    optimized: SideRun
    outcome: str
    result: ComparisonResult | None = None
    comparator_error: str = ""
    call_arguments: dict = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return self.outcome == "match"

    @property
    def diff(self) -> list[str]:
        """The differences as redacted lines (`[3].avg_cycle_time: 12.50 != 12.51`)."""
        if self.result is None:
            return []
        return self.result.lines(redact=True, limit=conf.get("SHADOW_MAX_DIFF_LINES"))

    @property
    def error_text(self) -> str:
        parts = [f"{run.side}: {run.error_text}" for run in (self.legacy, self.optimized) if run.failed]
        if self.comparator_error:
            parts.append(self.comparator_error)
        return "; ".join(parts)


# --- the entry point ------------------------------------------------------------


def call_pair(pair: Pair, kwargs: dict) -> Any:
    team = kwargs.get("team")
    try:
        served = served_side(pair, team)
        sampled = team is not None and sampling.should_sample(pair.name, team)
    except Exception:
        # The rollout decision itself failed (cache or database trouble): the reference serves.
        logger.exception("Rollout decision for %s failed; legacy serves", pair.name)
        return pair.legacy(**kwargs)
    if pair.stream:
        from shadow.streams import call_stream

        return call_stream(pair, kwargs, served=served, sampled=sampled)
    if not sampled:
        return pair.legacy(**kwargs) if served == LEGACY else serve_optimized(pair, kwargs)
    if pair.deferred:
        value = pair.legacy(**kwargs) if served == LEGACY else serve_optimized(pair, kwargs)
        enqueue_deferred(pair, kwargs, served)
        return value
    return dual_run(pair, kwargs, served)


def served_side(pair: Pair, team) -> str:
    forced = testing.forced_side(pair.name)
    if forced is not None:
        return forced
    import flags

    return OPTIMIZED if team is not None and flags.is_enabled(pair.name, team=team) else LEGACY


def serve_optimized(pair: Pair, kwargs: dict) -> Any:
    """An unsampled call on the optimized side: its failure falls back to legacy and is recorded."""
    try:
        # A failure rolls back to this savepoint, so legacy can still run in the caller's transaction.
        with transaction.atomic():
            return pair.optimized(**kwargs)
    except Exception as error:
        optimized_error = error
    from shadow.reporters import report_serving_error

    try:
        value = pair.legacy(**kwargs)
    except Exception as legacy_error:
        # Both sides refusing the call alike (bad input) is agreement, not an optimized failure.
        if not same_error(optimized_error, legacy_error):
            report_serving_error(pair, kwargs, optimized_error)
        raise
    report_serving_error(pair, kwargs, optimized_error)
    return value


def same_error(first: BaseException | None, second: BaseException | None) -> bool:
    return (
        first is not None
        and second is not None
        and type(first) is type(second)
        and str(first) == str(second)
    )


def dual_run(pair: Pair, kwargs: dict, served: str) -> Any:
    shadow = OPTIMIZED if served == LEGACY else LEGACY
    if pair.writes:
        # The shadow side first, rolled back, so both sides start from the same rows.
        order = [shadow, served]
    else:
        order = random.sample([served, shadow], 2)
    runs = {}
    for side in order:
        runs[side] = run_served(pair, side, kwargs) if side == served else run_isolated(pair, side, kwargs)
    try:
        comparison = judge(pair, kwargs, served, runs[LEGACY], runs[OPTIMIZED])
        report(pair, comparison)
    except Exception:
        # Judging is shadow work too: whatever goes wrong there stays out of the caller's way.
        logger.exception("Shadow comparison of %s could not be judged", pair.name)
        comparison = None

    served_run = runs[served]
    if served_run.error is None:
        result = served_run.value
    elif served == LEGACY:
        raise served_run.error
    elif not pair.writes and not runs[LEGACY].failed:
        # Legacy already computed the same call in this request; its answer serves.
        result = runs[LEGACY].value
    else:
        result = pair.legacy(**kwargs)
    if comparison is not None and comparison.outcome == "mismatch" and conf.get("SHADOW_RAISE_ON_MISMATCH"):
        raise ShadowMismatchError(f"{pair.name}: " + "; ".join(comparison.result.lines(redact=False, limit=20)))
    return result


def compare_now(name: str, *, team, **kwargs: Any) -> Comparison:
    """Both sides now, each in a rolled-back savepoint; the comparison is stored as evidence and returned."""
    pair = pair_registry.get(name)
    comparison = compare_isolated(pair, {**kwargs, "team": team}, served=NONE)
    report(pair, comparison)
    return comparison


def compare_isolated(pair: Pair, kwargs: dict, *, served: str) -> Comparison:
    if pair.stream:
        from shadow.streams import compare_streams

        return compare_streams(pair, kwargs, served=served)
    runs = {side: run_isolated(pair, side, kwargs) for side in random.sample([LEGACY, OPTIMIZED], 2)}
    return judge(pair, kwargs, served, runs[LEGACY], runs[OPTIMIZED])


# --- running one side -----------------------------------------------------------


def run_served(pair: Pair, side: str, kwargs: dict) -> SideRun:
    """The serving side, for real. Optimized runs in a savepoint so its failure leaves legacy a clean transaction."""
    run = SideRun(side)
    meter = None
    try:
        if side == OPTIMIZED:
            # The savepoint is the runner's, not the side's: its statements stay outside the measurement.
            with transaction.atomic():
                with measured() as meter:
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
                run.state = pair.snapshot(**kwargs)
        except Exception as error:
            run.snapshot_error = f"snapshot: {type(error).__name__}: {error}"
    return run


def run_isolated(pair: Pair, side: str, kwargs: dict) -> SideRun:
    """One side inside a savepoint that is always rolled back, cut off at the pair's time budget."""
    budget_ms = pair.time_budget_ms or conf.get("SHADOW_TIME_BUDGET_MS")
    deadline = time.perf_counter() + budget_ms / 1000
    function = pair.legacy if side == LEGACY else pair.optimized
    run = SideRun(side)
    meter = None
    try:
        with transaction.atomic():
            with db_connection.cursor() as cursor:
                # A single slow statement is cancelled by the server; loops of queries by the meter's deadline.
                cursor.execute("SET LOCAL statement_timeout = %s", [int(budget_ms)])
            try:
                with measured(deadline=deadline) as meter:
                    run.value = function(**kwargs)
                if pair.writes:
                    try:
                        run.state = pair.snapshot(**kwargs)
                    except Exception as error:
                        run.snapshot_error = f"snapshot: {type(error).__name__}: {error}"
                        raise
            finally:
                transaction.set_rollback(True)
    except ShadowTimeout:
        run.timed_out = True
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == QUERY_CANCELED:
            run.timed_out = True
        else:
            run.error = error
    except Exception as error:
        run.error = error
    run.measurement = meter.measurement if meter else None
    if not run.failed and run.measurement and run.measurement.wall_ms > budget_ms:
        # Finished, but late: what it returned cannot count as evidence.
        run.timed_out = True
    return run


# --- the verdict ------------------------------------------------------------------


def judge(pair: Pair, kwargs: dict, served: str, legacy: SideRun, optimized: SideRun) -> Comparison:
    from shadow.codec import describe_call

    team = kwargs.get("team")
    comparison = Comparison(
        pair=pair.name,
        team_id=getattr(team, "pk", None),
        team_slug=getattr(team, "slug", ""),
        served=served,
        legacy=legacy,
        optimized=optimized,
        outcome="error",
        call_arguments=describe_call(kwargs),
    )
    if legacy.timed_out or optimized.timed_out:
        comparison.outcome = "timeout"
    elif legacy.error is not None or optimized.error is not None:
        # Both sides refusing the same input the same way is agreement, not a failure.
        comparison.outcome = "match" if same_error(legacy.error, optimized.error) else "error"
    elif legacy.snapshot_error or optimized.snapshot_error:
        comparison.comparator_error = legacy.snapshot_error or optimized.snapshot_error
    else:
        try:
            comparison.result = compare(
                legacy.observed(writes=pair.writes), optimized.observed(writes=pair.writes), pair.rules
            )
            comparison.outcome = "match" if comparison.result.matched else "mismatch"
        except Exception as error:
            comparison.comparator_error = f"comparator: {type(error).__name__}: {error}"
    return comparison


def report(pair: Pair, comparison: Comparison) -> None:
    from shadow.reporters import report_comparison

    report_comparison(pair, comparison)


def enqueue_deferred(pair: Pair, kwargs: dict, served: str) -> None:
    """Queue the comparison for a worker once the caller's transaction commits; never raises."""
    from shadow.codec import encode_call
    from shadow.tasks import compare_deferred_task

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
