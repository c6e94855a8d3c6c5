"""Evidence per pair, team and day: the one upsert per sampled call, and the arithmetic read from it.

DailyEvidence rows hold counts and latency/query histograms. This module
writes them (upsert_day) and reads them back as Evidence over a window:
percentiles from the histograms, and the readiness arithmetic (enough
comparisons, no mismatch, no error) that the gate and the console use.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from shadow import conf, pairs
from shadow.errors import UnknownPairError
from shadow.measure import LOCK_NOT_AVAILABLE, QUERY_CANCELED, Measurement, sqlstate
from shadow.models import MS_BUCKETS, QUERY_BUCKETS, ArgumentSet, DailyEvidence
from shadow.outcome import LEGACY, OPTIMIZED
from shadow.pairs import EvidenceNeeds

COUNTERS = (
    "runs", "matches", "mismatches", "ignored_differences", "errors", "timeouts", "inconclusive", "stale_cache",
)


# --- histograms -------------------------------------------------------------------------


def one_hot(buckets: Sequence[float], value: float | None) -> list[int]:
    histogram = [0] * (len(buckets) + 1)
    if value is not None:
        histogram[bisect.bisect_left(buckets, value)] = 1
    return histogram


def add_histograms(first: list[int], second: list[int]) -> list[int]:
    # Histograms of one bucket set: always the same length.
    return [a + b for a, b in zip(first, second)]  # noqa: B905


def locate(histogram: list[int], fraction: float) -> tuple[int, float] | None:
    """The bucket holding the given fraction of samples, and how far into it (0 to 1) that sample lies.

    None without samples.
    """
    total = sum(histogram)
    if not total:
        return None
    threshold = fraction * total
    running = 0
    for index, count in enumerate(histogram):
        if count and running + count >= threshold:
            return index, (threshold - running) / count
        running += count
    return len(histogram) - 1, 1.0


def percentile(histogram: list[int], buckets: Sequence[float], fraction: float) -> float | None:
    """The upper bound of the bucket holding the given fraction of samples (None without samples)."""
    found = locate(histogram, fraction)
    if found is None:
        return None
    index, _ = found
    return buckets[index] if index < len(buckets) else float("inf")


def estimate_percentile(histogram: list[int], buckets: Sequence[float], fraction: float) -> float | None:
    """The percentile interpolated inside its bucket, assuming samples spread evenly across it.

    Closer than the bucket's upper bound (a p50 of 330 ms no longer reads as 500); the
    lower bound of the first bucket is 0. None without samples, inf in the last, open bucket.
    """
    found = locate(histogram, fraction)
    if found is None:
        return None
    index, share = found
    if index >= len(buckets):
        return float("inf")
    lower = buckets[index - 1] if index else 0.0
    return lower + (buckets[index] - lower) * share


def short_day(day: dt.date) -> str:
    """"Nov 28": how an operator reads a recent day."""
    return f"{day:%b} {day.day}"


def on_days(days: Iterable[dt.date], *, shown: int = 3) -> str:
    """" on Nov 27, Nov 28" for the days something happened (the latest ones when there are many)."""
    ordered = sorted(set(days))
    if not ordered:
        return ""
    listed = ", ".join(short_day(day) for day in ordered[-shown:])
    earlier = len(ordered) - shown
    return f" on {listed}" + (f" and {earlier} earlier {'day' if earlier == 1 else 'days'}" if earlier > 0 else "")


def counted(count: int, word: str, words: str) -> str:
    return f"{count} {word if count == 1 else words}"


def bucket_bound(value: float | None, buckets: Sequence[float]) -> Any:
    """A percentile read from a histogram: the upper bound of its bucket; above the last bucket, ">last"."""
    if value is None:
        return None
    if value == float("inf"):
        return f">{buckets[-1]}"
    return int(value) if float(value).is_integer() else value


# --- reading: Evidence over a window ------------------------------------------------------


@dataclass
class Evidence:
    """One team's evidence over the window, for the pair's current code revisions only.

    Rows of other revisions (the code changed since) are not added; their
    comparisons are counted in older_comparisons, so the gate can say why.
    """

    pair: str
    team_id: int
    days: int
    revisions: dict[str, str] = field(default_factory=dict)
    older_comparisons: int = 0
    # The gate's needs for this pair (EvidenceNeeds: comparisons, distinct argument sets, window).
    needs: EvidenceNeeds = field(default_factory=EvidenceNeeds)
    argument_sets: int = 0
    runs: int = 0
    matches: int = 0
    mismatches: int = 0
    ignored_differences: int = 0
    errors: int = 0
    timeouts: int = 0
    inconclusive: int = 0
    stale_cache: int = 0
    legacy_ms: list[int] = field(default_factory=lambda: [0] * (len(MS_BUCKETS) + 1))
    optimized_ms: list[int] = field(default_factory=lambda: [0] * (len(MS_BUCKETS) + 1))
    legacy_queries: list[int] = field(default_factory=lambda: [0] * (len(QUERY_BUCKETS) + 1))
    optimized_queries: list[int] = field(default_factory=lambda: [0] * (len(QUERY_BUCKETS) + 1))
    # Exact sums over the runs where both sides were measured: means and the speed-up come from these.
    legacy_ms_total: float = 0.0
    optimized_ms_total: float = 0.0
    legacy_queries_total: int = 0
    optimized_queries_total: int = 0
    measured_runs: int = 0
    # The days that had a mismatch, or an error or timeout: the gate names them.
    mismatch_days: set[dt.date] = field(default_factory=set)
    error_days: set[dt.date] = field(default_factory=set)

    @property
    def comparisons(self) -> int:
        return self.matches + self.mismatches

    @property
    def mismatch_rate(self) -> float | None:
        """Mismatches per comparison (0 to 1); None before the first comparison."""
        return self.mismatches / self.comparisons if self.comparisons else None

    def mean_ms(self, side: str) -> float | None:
        return getattr(self, f"{side}_ms_total") / self.measured_runs if self.measured_runs else None

    def mean_queries(self, side: str) -> float | None:
        return getattr(self, f"{side}_queries_total") / self.measured_runs if self.measured_runs else None

    @property
    def speedup(self) -> float | None:
        """Legacy's mean time over optimized's, on the same runs; None until both were measured."""
        legacy, optimized = self.mean_ms(LEGACY), self.mean_ms(OPTIMIZED)
        return legacy / optimized if legacy is not None and optimized else None

    def estimated_ms(self, side: str, fraction: float) -> float | None:
        """A latency percentile of one side, interpolated inside its histogram bucket (see estimate_percentile)."""
        return estimate_percentile(getattr(self, f"{side}_ms"), MS_BUCKETS, fraction)

    def p50_ms(self, side: str) -> float | None:
        return percentile(getattr(self, f"{side}_ms"), MS_BUCKETS, 0.5)

    def p95_ms(self, side: str) -> float | None:
        return percentile(getattr(self, f"{side}_ms"), MS_BUCKETS, 0.95)

    def p50_queries(self, side: str) -> float | None:
        return percentile(getattr(self, f"{side}_queries"), QUERY_BUCKETS, 0.5)

    def p95_queries(self, side: str) -> float | None:
        return percentile(getattr(self, f"{side}_queries"), QUERY_BUCKETS, 0.95)

    @property
    def problems(self) -> list[str]:
        """Why the team may not be flipped yet; empty when ready."""
        needed = self.needs.comparisons
        found = []
        if self.comparisons < needed:
            found.append(
                f"{self.comparisons} of {needed} comparisons in the last {self.days} days"
                + (" for the current revision" if self.older_comparisons else "")
            )
            if self.older_comparisons:
                found.append(
                    f"evidence is for an older revision ({self.older_comparisons} comparisons before "
                    f"optimized {self.revisions.get('optimized', '?')} / legacy {self.revisions.get('legacy', '?')})"
                )
        if self.argument_sets < self.needs.min_argument_sets:
            found.append(f"{self.argument_sets} of {self.needs.min_argument_sets} distinct argument sets")
        if self.mismatches:
            found.append(counted(self.mismatches, "mismatch", "mismatches") + on_days(self.mismatch_days))
        if self.errors or self.timeouts:
            found.append(
                f"{counted(self.errors, 'error', 'errors')} and {counted(self.timeouts, 'timeout', 'timeouts')}"
                + on_days(self.error_days)
            )
        return found

    @property
    def ready(self) -> bool:
        return not self.problems

    def add_day(self, row: DailyEvidence) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(row, name))
        self.legacy_ms = add_histograms(self.legacy_ms, row.legacy_ms_histogram)
        self.optimized_ms = add_histograms(self.optimized_ms, row.optimized_ms_histogram)
        self.legacy_queries = add_histograms(self.legacy_queries, row.legacy_queries_histogram)
        self.optimized_queries = add_histograms(self.optimized_queries, row.optimized_queries_histogram)
        self.legacy_ms_total += row.legacy_ms_total
        self.optimized_ms_total += row.optimized_ms_total
        self.legacy_queries_total += row.legacy_queries_total
        self.optimized_queries_total += row.optimized_queries_total
        self.measured_runs += row.measured_runs
        if row.mismatches:
            self.mismatch_days.add(row.day)
        if row.errors or row.timeouts:
            self.error_days.add(row.day)


def current_revisions(pair_name: str) -> dict[str, str]:
    """The registered pair's revisions now; empty for a flag without a pair (its evidence is not filtered)."""
    try:
        return pairs.get(pair_name).revisions()
    except UnknownPairError:
        return {}


def evidence_for(pair_name: str, team_ids: Iterable[int], *, today: dt.date | None = None) -> dict[int, Evidence]:
    """Evidence per team over the pair's window for its current revisions, from two queries.

    The window and the needs are the pair's (EvidenceNeeds); a flag without a pair uses the settings'.
    """
    try:
        pair = pairs.get(pair_name)
    except UnknownPairError:
        needs, revisions = EvidenceNeeds(), {}
    else:
        needs, revisions = pair.evidence, pair.revisions()
    days = needs.days
    today = today or timezone.now().date()
    evidence = {
        team_id: Evidence(pair=pair_name, team_id=team_id, days=days, revisions=revisions, needs=needs)
        for team_id in team_ids
    }
    window = {"day__gt": today - dt.timedelta(days=days), "day__lte": today}
    rows = DailyEvidence.objects.filter(pair_name=pair_name, team_id__in=list(evidence), **window)
    for row in rows:
        item = evidence[row.team_id]
        if revisions and (row.legacy_revision, row.optimized_revision) != (revisions[LEGACY], revisions[OPTIMIZED]):
            item.older_comparisons += row.comparisons
        else:
            item.add_day(row)
    seen = ArgumentSet.objects.filter(
        pair_name=pair_name, team_id__in=list(evidence), last_day__gt=window["day__gt"], last_day__lte=today,
    )
    if revisions:
        seen = seen.filter(legacy_revision=revisions[LEGACY], optimized_revision=revisions[OPTIMIZED])
    for team_id, count in seen.values_list("team_id").annotate(count=Count("id")).order_by():
        evidence[team_id].argument_sets = count
    return evidence


RECORD_ARGUMENT_SET = """
INSERT INTO shadow_argumentset AS a (pair_name, team_id, legacy_revision, optimized_revision, arguments_hash, last_day)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (pair_name, team_id, legacy_revision, optimized_revision, arguments_hash)
DO UPDATE SET last_day = GREATEST(a.last_day, EXCLUDED.last_day)
"""


def record_argument_set(*, pair_name: str, team_id: int, revisions: dict[str, str], arguments_hash: str) -> None:
    """Note that the pair's sides were compared on these arguments today (one statement; callers bound it)."""
    with connection.cursor() as cursor:
        cursor.execute(RECORD_ARGUMENT_SET, [
            pair_name, team_id, revisions.get(LEGACY, ""), revisions.get(OPTIMIZED, ""),
            arguments_hash, timezone.now().date(),
        ])


def side_pair(legacy: Any, optimized: Any) -> dict[str, Any] | None:
    if legacy is None and optimized is None:
        return None
    return {"legacy": legacy, "optimized": optimized}


def evidence_row(item: Evidence) -> dict[str, Any]:
    """One team's evidence as plain values. p50s are histogram bucket bounds, legacy → optimized."""
    return {
        "comparisons": item.comparisons,
        "mismatches": item.mismatches,
        "errors": item.errors,
        "timeouts": item.timeouts,
        "inconclusive": item.inconclusive,
        "stale_cache": item.stale_cache,
        "argument_sets": item.argument_sets,
        "p50_ms": side_pair(
            bucket_bound(item.p50_ms("legacy"), MS_BUCKETS), bucket_bound(item.p50_ms("optimized"), MS_BUCKETS)
        ),
        "p50_queries": side_pair(
            bucket_bound(item.p50_queries("legacy"), QUERY_BUCKETS),
            bucket_bound(item.p50_queries("optimized"), QUERY_BUCKETS),
        ),
        "revision": item.revisions or None,
        "ready": item.ready,
    }


# --- writing: one upsert per sampled call ---------------------------------------------------

GAVE_UP = {LOCK_NOT_AVAILABLE, QUERY_CANCELED}


@contextmanager
def bounded_write() -> Iterator[None]:
    """A savepoint (or transaction) whose statements give up after SHADOW_EVIDENCE_TIMEOUT_MS.

    Evidence must never hold a caller up: a locked table or a slow disk makes
    the write fail fast (see gave_up) instead of waiting. The caller's own
    timeouts are put back afterwards, also inside its transaction.
    """
    limit = f"{int(conf.get('SHADOW_EVIDENCE_TIMEOUT_MS'))}ms"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), "
                "set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                [limit, limit],
            )
            lock_timeout, statement_timeout, _, _ = cursor.fetchone()
        yield
        # Only reached when the block succeeded; after a failure the savepoint's rollback undoes the settings.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                [lock_timeout, statement_timeout],
            )


def gave_up(error: BaseException) -> bool:
    """Whether an evidence write failed because it would have had to wait (see bounded_write)."""
    return sqlstate(error) in GAVE_UP


@dataclass(frozen=True)
class DayCounters:
    """The team's counters for the day after this call's upsert."""

    mismatches: int
    errors: int
    optimized_served_mismatches: int
    optimized_errors: int


UPSERT = """
INSERT INTO shadow_dailyevidence AS e (
    pair_name, team_id, day, legacy_revision, optimized_revision, runs, matches, mismatches, ignored_differences, errors, timeouts, inconclusive,
    stale_cache, optimized_served_mismatches, optimized_errors,
    legacy_ms_histogram, optimized_ms_histogram, legacy_queries_histogram, optimized_queries_histogram,
    legacy_ms_total, optimized_ms_total, legacy_queries_total, optimized_queries_total, measured_runs, updated_at
) VALUES (
    %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
    %s::int[], %s::int[], %s::int[], %s::int[], %s, %s, %s, %s, %s, %s
)
ON CONFLICT (pair_name, team_id, day, legacy_revision, optimized_revision) DO UPDATE SET
    runs = e.runs + EXCLUDED.runs,
    matches = e.matches + EXCLUDED.matches,
    mismatches = e.mismatches + EXCLUDED.mismatches,
    ignored_differences = e.ignored_differences + EXCLUDED.ignored_differences,
    errors = e.errors + EXCLUDED.errors,
    timeouts = e.timeouts + EXCLUDED.timeouts,
    inconclusive = e.inconclusive + EXCLUDED.inconclusive,
    stale_cache = e.stale_cache + EXCLUDED.stale_cache,
    optimized_served_mismatches = e.optimized_served_mismatches + EXCLUDED.optimized_served_mismatches,
    optimized_errors = e.optimized_errors + EXCLUDED.optimized_errors,
    legacy_ms_histogram = (SELECT array_agg(a + b ORDER BY i) FROM unnest(e.legacy_ms_histogram, EXCLUDED.legacy_ms_histogram) WITH ORDINALITY AS h(a, b, i)),
    optimized_ms_histogram = (SELECT array_agg(a + b ORDER BY i) FROM unnest(e.optimized_ms_histogram, EXCLUDED.optimized_ms_histogram) WITH ORDINALITY AS h(a, b, i)),
    legacy_queries_histogram = (SELECT array_agg(a + b ORDER BY i) FROM unnest(e.legacy_queries_histogram, EXCLUDED.legacy_queries_histogram) WITH ORDINALITY AS h(a, b, i)),
    optimized_queries_histogram = (SELECT array_agg(a + b ORDER BY i) FROM unnest(e.optimized_queries_histogram, EXCLUDED.optimized_queries_histogram) WITH ORDINALITY AS h(a, b, i)),
    legacy_ms_total = e.legacy_ms_total + EXCLUDED.legacy_ms_total,
    optimized_ms_total = e.optimized_ms_total + EXCLUDED.optimized_ms_total,
    legacy_queries_total = e.legacy_queries_total + EXCLUDED.legacy_queries_total,
    optimized_queries_total = e.optimized_queries_total + EXCLUDED.optimized_queries_total,
    measured_runs = e.measured_runs + EXCLUDED.measured_runs,
    updated_at = EXCLUDED.updated_at
RETURNING mismatches, errors, optimized_served_mismatches, optimized_errors
"""  # noqa: E501 - one SQL statement, kept readable line by line


def upsert_day(
    *, pair_name: str, team_id: int, revisions: dict[str, str] | None = None, runs: int = 0, matches: int = 0,
    mismatches: int = 0, ignored: int = 0, errors: int = 0, timeouts: int = 0, inconclusive: int = 0,
    stale_cache: int = 0, optimized_served_mismatches: int = 0, optimized_errors: int = 0,
    legacy: Measurement | None = None, optimized: Measurement | None = None,
) -> DayCounters:
    """Add one call's counts and measurements to the (pair, team, today, revisions) row: a single statement."""
    now = timezone.now()
    revisions = revisions or {}
    params: list[Any] = [
        pair_name, team_id, now.date(), revisions.get(LEGACY, ""), revisions.get(OPTIMIZED, ""),
        runs, matches, mismatches, ignored, errors, timeouts, inconclusive, stale_cache,
        optimized_served_mismatches, optimized_errors,
        one_hot(MS_BUCKETS, legacy.wall_ms if legacy else None),
        one_hot(MS_BUCKETS, optimized.wall_ms if optimized else None),
        one_hot(QUERY_BUCKETS, legacy.queries if legacy else None),
        one_hot(QUERY_BUCKETS, optimized.queries if optimized else None),
        legacy.wall_ms if legacy else 0.0,
        optimized.wall_ms if optimized else 0.0,
        legacy.queries if legacy else 0,
        optimized.queries if optimized else 0,
        1 if legacy and optimized else 0,
        now,
    ]
    # Callers run this inside their own savepoint, with the record that goes with it.
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, params)
        return DayCounters(*cursor.fetchone())
