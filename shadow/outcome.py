"""What one dual run produced: the side names, each side's run, and the verdict.

The bottom of the shadow stack: plain data, no Django, no database. Every
other layer (execution, judging, reporters, dispatch, the console) speaks
in these terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from shadow import conf
from shadow.diff import ComparisonResult
from shadow.measure import Measurement

Side = Literal["legacy", "optimized"]
# "none": an on-demand comparison, where neither side served anyone.
Served = Literal["legacy", "optimized", "none"]
# "inconclusive": the shadow side gave up waiting for a row lock (or lost a deadlock): nothing was learnt.
Outcome = Literal["match", "mismatch", "error", "timeout", "inconclusive"]

LEGACY: Final = "legacy"
OPTIMIZED: Final = "optimized"
NONE: Final = "none"
SIDES: Final[tuple[Side, Side]] = (LEGACY, OPTIMIZED)


def other_side(side: str) -> Side:
    return OPTIMIZED if side == LEGACY else LEGACY


def same_error(first: BaseException | None, second: BaseException | None) -> bool:
    """Both sides refusing the call alike (same type, same message): agreement, not a failure."""
    return (
        first is not None
        and second is not None
        and type(first) is type(second)
        and str(first) == str(second)
    )


@dataclass
class SideRun:
    side: str
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    # A contained side that gave up waiting for a lock (lock_timeout) or was a deadlock's victim.
    blocked: bool = False
    measurement: Measurement | None = None
    # For write pairs: the rows the side wrote, read back by the pair's snapshot.
    state: Any = None
    snapshot_error: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timed_out or self.blocked

    @property
    def error_text(self) -> str:
        if self.timed_out:
            return "timed out"
        if self.blocked:
            return f"blocked by a row lock ({type(self.error).__name__})"
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def observed(self, *, writes: bool) -> Any:
        return {"result": self.value, "state": self.state} if writes else self.value


@dataclass
class CacheCheck:
    """A cached pair's served entry against the fresh optimized value of the same call.

    stale: they differ (what a cached call would have served was out of date);
    age_seconds: the entry's age, when known.
    """

    stale: bool
    age_seconds: float | None
    result: ComparisonResult


@dataclass
class Comparison:
    """One dual run: both sides' runs and measurements, and the verdict.

    outcome: "match", "mismatch", "error" (a side or the comparator raised;
    both sides raising the same error counts as a match), "timeout", or
    "inconclusive" (a contained side was blocked by a lock: neither a
    mismatch nor an error, it never counts towards a rollback).
    """

    pair: str
    team_id: int | None
    team_slug: str
    served: str
    legacy: SideRun
    optimized: SideRun
    outcome: str
    result: ComparisonResult | None = None
    comparator_error: str = ""
    call_arguments: dict[str, Any] = field(default_factory=dict)
    # Which distinct call this was (shadow.codec.arguments_hash), for the gate's distinct argument sets.
    arguments_hash: str = ""
    # "legacy" when optimized served but its answer mismatched, so the caller got legacy's instead.
    answered_with: str = ""
    # The code each side ran (shadow.revisions), as the pair reported it.
    legacy_revision: str = ""
    optimized_revision: str = ""
    # Cached pairs: the served cache entry checked against the fresh optimized value (None: nothing cached).
    cache_check: CacheCheck | None = None

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
        if self.answered_with == LEGACY:
            parts.append("served legacy after mismatch")
        return "; ".join(parts)

    def runs(self) -> tuple[SideRun, SideRun]:
        return self.legacy, self.optimized


def error_kinds(comparison: Comparison) -> str:
    """A comparison's failures as Sentry gets them: each failed side's exception type, never its message.

    `optimized: ValueError`, `legacy: timed out`, `comparator: TypeError`: messages may quote personal values.
    """
    parts = []
    for run in comparison.runs():
        if run.timed_out or run.blocked:
            parts.append(f"{run.side}: {run.error_text}")
        elif run.error is not None:
            parts.append(f"{run.side}: {type(run.error).__name__}")
    if comparison.comparator_error:
        # "comparator: TypeError: <message>" or "snapshot: IntegrityError: <message>": the label and the type.
        parts.append(": ".join(comparison.comparator_error.split(": ", 2)[:2]))
    return "; ".join(parts)


# --- streams -------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamSummary:
    """What one side of a stream produced: its row count and the SHA-256 (hex) of its rows' canonical encodings."""

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
