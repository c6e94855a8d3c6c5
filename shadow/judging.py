"""The verdict on two sides' runs, for plain and stream pairs alike, and on-demand comparisons.

One judging for every pair: a contained side blocked by a row lock makes
the run inconclusive; a timeout on either side is a timeout; an error
is an error, unless both sides raised the same error (agreement: both
refuse the same bad input); a write pair whose snapshot failed is a
comparator error; otherwise the two results are compared, a plain pair's
with shadow.diff under its rules, a stream's by row count and digest with
its first differing row described.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db import transaction

from shadow import conf, pairs
from shadow.codec import arguments_hash, describe_call
from shadow.diff import CompareRules, ComparisonResult, Difference, compare
from shadow.errors import ShadowMismatchError
from shadow.execution import run_isolated
from shadow.outcome import (
    LEGACY,
    NONE,
    OPTIMIZED,
    SIDES,
    CacheCheck,
    Comparison,
    RowDifference,
    SideRun,
    StreamComparison,
    same_error,
)
from shadow.pairs import Pair
from shadow.reporters import report_comparison
from shadow.streaming import END, FirstDifference, SideStream

logger = logging.getLogger(__name__)


def judge(
    pair: Pair[Any, Any],
    kwargs: dict[str, Any],
    served: str,
    legacy: SideRun,
    optimized: SideRun,
    *,
    differences: Callable[[], ComparisonResult] | None = None,
    comparison: Comparison | None = None,
) -> Comparison:
    """The verdict on two runs. `differences` compares their results (default: shadow.diff under the pair's rules)."""
    team = kwargs.get("team")
    if comparison is None:
        comparison = Comparison(
            pair=pair.name, team_id=None, team_slug="", served=served, legacy=legacy, optimized=optimized,
            outcome="error",
        )
    comparison.team_id = getattr(team, "pk", None)
    comparison.team_slug = getattr(team, "slug", "")
    comparison.call_arguments = describe_call(kwargs)
    comparison.arguments_hash = arguments_hash(kwargs)
    revisions = pair.revisions()
    comparison.legacy_revision, comparison.optimized_revision = revisions[LEGACY], revisions[OPTIMIZED]
    if differences is None:
        def differences() -> ComparisonResult:
            return compare(legacy.observed(writes=pair.writes), optimized.observed(writes=pair.writes), pair.rules)

    if legacy.blocked or optimized.blocked:
        # Waiting for another transaction's row lock (or losing a deadlock) says nothing about either side.
        comparison.outcome = "inconclusive"
    elif legacy.timed_out or optimized.timed_out:
        comparison.outcome = "timeout"
    elif legacy.error is not None or optimized.error is not None:
        # Both sides refusing the same input the same way is agreement, not a failure.
        comparison.outcome = "match" if same_error(legacy.error, optimized.error) else "error"
    elif legacy.snapshot_error or optimized.snapshot_error:
        comparison.outcome = "error"
        comparison.comparator_error = legacy.snapshot_error or optimized.snapshot_error
    else:
        try:
            comparison.result = differences()
            comparison.outcome = "match" if comparison.result.matched else "mismatch"
        except Exception as error:
            comparison.outcome = "error"
            comparison.comparator_error = f"comparator: {type(error).__name__}: {error}"
    return comparison


def check_cache(pair: Pair[Any, Any], kwargs: dict[str, Any], optimized: SideRun) -> CacheCheck | None:
    """A cached pair: does the entry it would serve for this call equal the fresh optimized value? Never raises."""
    if pair.cache is None or optimized.failed:
        return None
    try:
        entry = pair.cache.peek(**kwargs)
        if entry is None:
            return None
        result = compare(entry.value, optimized.value, pair.rules)
    except Exception:
        logger.exception("The cache entry of %s could not be checked", pair.name)
        return None
    return CacheCheck(stale=not result.matched, age_seconds=entry.age_seconds, result=result)


def judge_and_report(pair: Pair[Any, Any], verdict: Callable[[], Comparison]) -> Comparison | None:
    """Judge a served call and report it. Never raises: judging is shadow work, out of the caller's way."""
    try:
        comparison = verdict()
        report_comparison(pair, comparison)
    except Exception:
        logger.exception("Shadow comparison of %s could not be judged", pair.name)
        return None
    return comparison


def raise_if_mismatch(pair: Pair[Any, Any], comparison: Comparison | None) -> None:
    """Tests (SHADOW_RAISE_ON_MISMATCH): a mismatching sampled call raises in the caller."""
    if comparison is None or comparison.outcome != "mismatch" or comparison.result is None:
        return
    if conf.get("SHADOW_RAISE_ON_MISMATCH"):
        raise ShadowMismatchError(f"{pair.name}: " + "; ".join(comparison.result.lines(redact=False, limit=20)))


# --- streams ----------------------------------------------------------------------------------


def describe_rows(
    rules: CompareRules, first: RowDifference | None, legacy_rows: int, optimized_rows: int
) -> ComparisonResult:
    """The first differing row's differences (personal, paths under `[row N]`), then a length difference.

    Row contents count as personal data: redacted in Sentry, in full in the ShadowRecord.
    """
    found: list[Difference] = []
    if first is not None:
        # Exact like the digests: a tolerance could find no difference between rows the digests tell apart.
        exact = CompareRules(tolerance=Decimal(0), personal_fields=rules.personal_fields)
        in_row = compare(first.legacy, first.optimized, exact).differences or (
            Difference("", first.legacy, first.optimized, personal_fields=rules.personal_fields),
        )
        prefix = f"[row {first.index}]"
        found.extend(replace(item, path=prefix + item.path, personal=True) for item in in_row)
    if legacy_rows != optimized_rows:
        found.append(Difference("#len", legacy_rows, optimized_rows))
    return ComparisonResult(differences=tuple(found))


def judge_streams(
    pair: Pair[Any, Any], kwargs: dict[str, Any], served: str, sides: dict[str, SideStream], tally: FirstDifference
) -> StreamComparison:
    """Close both sides and judge them like any pair; their rows match when counts and digests are equal."""
    for side in sides.values():
        side.close()
        side.run.value = side.summary()
        side.run.measurement = side.measurement()
    legacy, optimized = sides[LEGACY], sides[OPTIMIZED]

    def differences() -> ComparisonResult:
        if legacy.rows == optimized.rows and legacy.digest.digest() == optimized.digest.digest():
            return ComparisonResult(differences=())
        return describe_rows(pair.rules, tally.first, legacy.rows, optimized.rows)

    comparison = StreamComparison(
        pair=pair.name, team_id=None, team_slug="", served=served, legacy=legacy.run, optimized=optimized.run,
        outcome="error", first_difference=tally.first, differing_rows=tally.differing_rows,
    )
    judge(pair, kwargs, served, legacy.run, optimized.run, differences=differences, comparison=comparison)
    return comparison


# --- on demand ----------------------------------------------------------------------------------


def compare_isolated(pair: Pair[Any, Any], kwargs: dict[str, Any], *, served: str) -> Comparison:
    """Both sides, each contained and rolled back, in random order; judged, not reported.

    A cached pair's optimized side is computed, never read from its cache.
    """
    if pair.stream:
        return compare_streams(pair, kwargs, served=served)
    running = pair.computing()
    runs = {side: run_isolated(running, side, kwargs) for side in random.sample(SIDES, 2)}
    return judge(pair, kwargs, served, runs[LEGACY], runs[OPTIMIZED])


def compare_streams(pair: Pair[Any, Any], kwargs: dict[str, Any], *, served: str) -> StreamComparison:
    """Both sides consumed fully in lockstep, each contained and within its budget, then rolled back."""
    sides: dict[str, SideStream] = {
        side: SideStream(pair, side, kwargs, contained=True, budget_ms=pair.budget_ms) for side in SIDES
    }
    legacy, optimized = sides[LEGACY], sides[OPTIMIZED]
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
    return judge_streams(pair, kwargs, served, sides, tally)


def compare_now(name: str, *, team: Any, **kwargs: Any) -> Comparison:
    """Both sides now, each in a rolled-back savepoint; the comparison is stored as evidence and returned."""
    pair = pairs.get(name)
    comparison = compare_isolated(pair, {**kwargs, "team": team}, served=NONE)
    report_comparison(pair, comparison)
    return comparison
