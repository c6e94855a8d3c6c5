"""Where comparisons go: the database (evidence, records) and Sentry (mismatches, errors).

Every reporter is guarded: a reporter that fails (Sentry unreachable, a
database error) is logged and never reaches the caller. Database writes run
in their own savepoint so a failure cannot break the caller's transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar, cast

import sentry_sdk

from shadow import conf
from shadow.codec import describe_call
from shadow.diff import ComparisonResult, Difference
from shadow.evidence import DayCounters, bounded_write, gave_up, record_argument_set, upsert_day
from shadow.gate import count_failure, roll_back_if_needed
from shadow.models import ShadowRecord
from shadow.outcome import LEGACY, OPTIMIZED, CacheCheck, Comparison, error_kinds
from shadow.pairs import Pair

logger = logging.getLogger(__name__)

T = TypeVar("T")


def report_comparison(pair: Pair[Any, Any], comparison: Comparison) -> None:
    _guarded("store evidence", pair.name, store_comparison, comparison)
    _guarded("report to Sentry", pair.name, send_to_sentry, comparison)
    if comparison.served != OPTIMIZED or comparison.team_id is None:
        return
    mismatch = comparison.outcome == "mismatch"
    if mismatch or (comparison.outcome == "error" and comparison.optimized.error is not None):
        guard_rollback(pair.name, comparison.team_id, mismatch=mismatch)


def guard_rollback(pair_name: str, team_id: int, *, mismatch: bool) -> None:
    """Count the failure in its own tally, then roll the team back if today's count reached the threshold."""
    failures = _guarded("count towards the guarded rollback", pair_name, partial(count_failure, mismatch=mismatch),
                        pair_name, team_id)
    if failures is not None:
        _guarded("check the guarded rollback", pair_name, roll_back_if_needed, pair_name, team_id, failures)


def report_serving_error(
    pair: Pair[Any, Any], kwargs: dict[str, Any], error: BaseException, *, detail: str = "fell back to legacy"
) -> None:
    """The optimized side raised while serving (unsampled call): by default legacy is serving the caller instead."""
    team = kwargs.get("team")
    team_id = getattr(team, "pk", None)
    logger.warning("Optimized side of %s raised %s for team %s; %s", pair.name, type(error).__name__, team_id, detail)
    if team_id is None:
        return
    _guarded("store evidence", pair.name, store_serving_error, pair, team_id, kwargs, error, detail)
    _guarded("report to Sentry", pair.name, send_serving_error_to_sentry, pair, getattr(team, "slug", ""), error)
    guard_rollback(pair.name, team_id, mismatch=False)


def _guarded(what: str, pair_name: str, function: Callable[..., T], *args: Any) -> T | None:
    try:
        return function(*args)
    except Exception as error:
        if gave_up(error):
            DROPPED.count(pair_name)
        else:
            logger.exception("Shadow reporter could not %s for %s", what, pair_name)
        return None


class Dropped:
    """Shadow work given up rather than waited for: counted per process, logged once per interval.

    message takes the count since the last log line and the latest pair's name.
    """

    def __init__(self, message: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.message = message
        self.clock = clock
        self.total = 0
        self._since_log = 0
        self._logged_at: float | None = None

    def count(self, pair_name: str) -> None:
        self.total += 1
        self._since_log += 1
        now = self.clock()
        if self._logged_at is not None and now - self._logged_at < conf.get("SHADOW_DROPPED_LOG_SECONDS"):
            return
        logger.warning(self.message, self._since_log, pair_name)
        self._logged_at, self._since_log = now, 0


DROPPED = Dropped(
    "Shadow evidence dropped: %s writes gave up (the evidence tables were locked or slow), latest for %s"
)
# Sampled calls served without a comparison because every shadow thread was busy (shadow.threads).
SKIPPED = Dropped(
    "Shadow comparisons skipped: %s sampled calls found every shadow thread busy (SHADOW_THREADS), latest for %s"
)


# --- database -----------------------------------------------------------------------


def store_comparison(comparison: Comparison) -> DayCounters:
    outcome = comparison.outcome
    optimized_served = comparison.served == OPTIMIZED
    # Timings of a side that failed or ran out of time say nothing about its speed.
    legacy = comparison.legacy.measurement if not comparison.legacy.failed else None
    optimized = comparison.optimized.measurement if not comparison.optimized.failed else None
    # Evidence is per team (team is NOT NULL): a comparison without one is refused by the database.
    team_id = cast(int, comparison.team_id)
    stale = comparison.cache_check if comparison.cache_check and comparison.cache_check.stale else None
    with bounded_write():
        counters = upsert_day(
            pair_name=comparison.pair,
            team_id=team_id,
            revisions={LEGACY: comparison.legacy_revision, OPTIMIZED: comparison.optimized_revision},
            runs=1,
            matches=int(outcome == "match"),
            mismatches=int(outcome == "mismatch"),
            ignored=len(comparison.result.ignored) if comparison.result else 0,
            errors=int(outcome == "error"),
            timeouts=int(outcome == "timeout"),
            inconclusive=int(outcome == "inconclusive"),
            stale_cache=int(stale is not None),
            optimized_served_mismatches=int(optimized_served and outcome == "mismatch"),
            optimized_errors=int(optimized_served and outcome == "error" and comparison.optimized.error is not None),
            legacy=legacy,
            optimized=optimized,
        )
        if outcome in ("match", "mismatch") and comparison.arguments_hash:
            record_argument_set(
                pair_name=comparison.pair, team_id=team_id,
                revisions={LEGACY: comparison.legacy_revision, OPTIMIZED: comparison.optimized_revision},
                arguments_hash=comparison.arguments_hash,
            )
        if outcome != "match":
            ShadowRecord.objects.create(
                pair_name=comparison.pair,
                team_id=team_id,
                outcome=outcome,
                served=comparison.served,
                diff=diff_items(comparison.result.differences if comparison.result else ()),
                error=comparison.error_text,
                error_redacted=redacted_error(comparison),
                legacy_measurement=comparison.legacy.measurement.as_dict() if comparison.legacy.measurement else None,
                optimized_measurement=(
                    comparison.optimized.measurement.as_dict() if comparison.optimized.measurement else None
                ),
                call_arguments=comparison.call_arguments,
                legacy_revision=comparison.legacy_revision,
                optimized_revision=comparison.optimized_revision,
            )
        if stale is not None:
            ShadowRecord.objects.create(
                pair_name=comparison.pair,
                team_id=team_id,
                outcome=ShadowRecord.Outcome.STALE_CACHE,
                served=comparison.served,
                # The cached entry was compared as "legacy", the fresh value as "optimized" (ShadowRecord.side_labels).
                diff=diff_items(stale.result.differences, prefix="cached vs fresh: "),
                error=stale_cache_text(stale),
                error_redacted=stale_cache_text(stale),
                call_arguments=comparison.call_arguments,
                legacy_revision=comparison.legacy_revision,
                optimized_revision=comparison.optimized_revision,
            )
    return counters


def diff_items(differences: Iterable[Difference], *, prefix: str = "") -> list[dict[str, str]]:
    """A record's differences: each as one line and as its two sides, in full and as Sentry gets them."""
    items = []
    for difference in differences:
        legacy, optimized = difference.sides(redact=False)
        legacy_redacted, optimized_redacted = difference.sides(redact=True)
        items.append({
            "path": difference.path,
            "line": prefix + difference.render(redact=False),
            "redacted": prefix + difference.render(redact=True),
            "legacy": legacy,
            "optimized": optimized,
            "legacy_redacted": legacy_redacted,
            "optimized_redacted": optimized_redacted,
        })
    return items


def redacted_error(comparison: Comparison) -> str:
    """The record's error as Sentry gets it: failed sides and exception types, never messages."""
    parts = [error_kinds(comparison)]
    if comparison.answered_with == LEGACY:
        parts.append("served legacy after mismatch")
    return "; ".join(part for part in parts if part)


def stale_cache_text(check: CacheCheck) -> str:
    age = "of unknown age" if check.age_seconds is None else f"{check.age_seconds:.0f} s old"
    return f"the cached entry ({age}) differs from a fresh computation of the same call"


def store_serving_error(
    pair: Pair[Any, Any], team_id: int, kwargs: dict[str, Any], error: BaseException,
    detail: str = "fell back to legacy",
) -> DayCounters:
    revisions = pair.revisions()
    with bounded_write():
        counters = upsert_day(pair_name=pair.name, team_id=team_id, revisions=revisions, errors=1, optimized_errors=1)
        ShadowRecord.objects.create(
            pair_name=pair.name,
            team_id=team_id,
            outcome=ShadowRecord.Outcome.ERROR,
            served=OPTIMIZED,
            error=f"optimized (serving, {detail}): {type(error).__name__}: {error}",
            error_redacted=f"optimized (serving, {detail}): {type(error).__name__}",
            call_arguments=describe_call(kwargs),
            legacy_revision=revisions[LEGACY],
            optimized_revision=revisions[OPTIMIZED],
        )
    return counters


# --- Sentry ---------------------------------------------------------------------------


def measurements_context(comparison: Comparison) -> dict[str, Any]:
    return {
        side: (run.measurement.as_dict() if run.measurement else None)
        for side, run in ((LEGACY, comparison.legacy), (OPTIMIZED, comparison.optimized))
    }


def send_to_sentry(comparison: Comparison) -> None:
    check = comparison.cache_check
    if check is not None and check.stale:
        send_stale_cache_to_sentry(comparison, check)
    if comparison.outcome == "inconclusive":
        # A lock wait says nothing about either side; it is counted in the evidence, not raised as an issue.
        return
    if comparison.outcome == "match":
        # Matched runs are not events: their timings go on the current transaction's span.
        span = sentry_sdk.get_current_span()
        if span is not None:
            for side, values in measurements_context(comparison).items():
                for key, value in (values or {}).items():
                    span.set_data(f"shadow.{comparison.pair}.{side}.{key}", value)
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("shadow.pair", comparison.pair)
        scope.set_tag("team", comparison.team_slug or str(comparison.team_id))
        scope.set_tag("served", comparison.served)
        if comparison.answered_with:
            scope.set_tag("shadow.answered", comparison.answered_with)
        scope.set_tag("shadow.outcome", comparison.outcome)
        scope.set_tag("shadow.legacy_revision", comparison.legacy_revision)
        scope.set_tag("shadow.optimized_revision", comparison.optimized_revision)
        context: dict[str, Any] = {"measurements": measurements_context(comparison)}
        if comparison.outcome == "mismatch":
            scope.fingerprint = ["shadow-mismatch", comparison.pair]
            context["diff"] = comparison.diff
            # A mismatch always has the result that found it.
            context["differences"] = len(cast(ComparisonResult, comparison.result).differences)
            message = f"Shadow mismatch in {comparison.pair}"
        else:
            scope.fingerprint = ["shadow-" + comparison.outcome, comparison.pair]
            # Exception types only: their messages may quote personal data.
            context["failed_sides"] = {
                run.side: ("timeout" if run.timed_out else type(run.error).__name__)
                for run in (comparison.legacy, comparison.optimized)
                if run.failed
            }
            message = f"Shadow {comparison.outcome} in {comparison.pair}"
        scope.set_context("shadow", context)
        sentry_sdk.capture_message(message, level="warning")


def send_stale_cache_to_sentry(comparison: Comparison, check: CacheCheck) -> None:
    """A stale cache entry is its own kind of event, grouped per pair: the computations themselves agreed."""
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("shadow.pair", comparison.pair)
        scope.set_tag("team", comparison.team_slug or str(comparison.team_id))
        scope.set_tag("shadow.outcome", "stale_cache")
        scope.set_tag("shadow.optimized_revision", comparison.optimized_revision)
        scope.fingerprint = ["shadow-stale-cache", comparison.pair]
        scope.set_context("shadow", {
            "age_seconds": check.age_seconds,
            "diff": check.result.lines(redact=True, limit=conf.get("SHADOW_MAX_DIFF_LINES")),
        })
        sentry_sdk.capture_message(f"Stale cache in {comparison.pair}", level="warning")


def without_exception_messages(event: Any, hint: Any) -> Any:
    """Keep each exception's type and frames, drop its text: messages may quote personal data."""
    for exception in (event.get("exception") or {}).get("values") or ():
        exception["value"] = ""
    return event


def send_serving_error_to_sentry(pair: Pair[Any, Any], team_slug: str, error: BaseException) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("shadow.pair", pair.name)
        scope.set_tag("team", team_slug)
        scope.set_tag("served", OPTIMIZED)
        scope.set_tag("shadow.outcome", "serving-error")
        scope.set_tag("shadow.optimized_revision", pair.revisions()[OPTIMIZED])
        scope.fingerprint = ["shadow-serving-error", pair.name, type(error).__name__]
        scope.add_event_processor(without_exception_messages)
        sentry_sdk.capture_exception(error)
