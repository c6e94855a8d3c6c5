"""The pairs: one optimized function and its legacy twin, registered once under a dotted name.

A pair's name is also the name of the rollout flag that decides which side
serves. Pairs are declared where their entry point lives (e.g.
apps/metrics/services/dashboard/__init__.py), so this package knows nothing
about what the functions compute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shadow.diff import CompareRules
from shadow.errors import UnknownPairError


@dataclass(frozen=True, eq=False)
class Pair:
    """Call it with the functions' keyword arguments (team=… always); it is the only way callers reach either side.

    writes: the functions write rows. Then `snapshot(**same kwargs)` must read
    back the rows they write as plain data; the shadow side runs in a savepoint
    that is rolled back, and the two resulting states are compared.
    deferred: a sampled call only enqueues the comparison; a Celery worker runs it.
    stream: both sides return iterators of rows (e.g. an export) and so does
    the pair; sampled calls compare the rows as they pass, never holding them
    (shadow/streams.py). Stream pairs cannot be deferred or write, and their
    rows are compared exactly: ignore and unordered rules are refused.
    time_budget_ms: the shadow side's budget (default SHADOW_TIME_BUDGET_MS).
    examples: team -> list of keyword-argument dicts (without team) that
    `rollout verify` runs when asked to compare on demand.
    """

    name: str
    legacy: Callable[..., Any]
    optimized: Callable[..., Any]
    description: str = ""
    rules: CompareRules = field(default_factory=CompareRules)
    writes: bool = False
    snapshot: Callable[..., Any] | None = None
    deferred: bool = False
    time_budget_ms: int | None = None
    examples: Callable[[Any], list[dict]] | None = None
    stream: bool = False

    def __post_init__(self) -> None:
        if self.writes and self.snapshot is None:
            raise ValueError(f"Pair {self.name!r} writes, so it needs a snapshot function")
        if self.stream:
            # A worker cannot replay a stream the caller already consumed, and rows flow
            # to the caller while the shadow side runs, so its writes could not be undone first.
            if self.deferred:
                raise ValueError(f"Pair {self.name!r} streams, so it cannot be deferred")
            if self.writes:
                raise ValueError(f"Pair {self.name!r} streams, so it cannot write")
            if self.rules.ignore or self.rules.unordered:
                raise ValueError(
                    f"Pair {self.name!r} streams: its rows are compared exactly, one by one, "
                    "so ignore and unordered rules cannot apply"
                )

    def __call__(self, **kwargs: Any) -> Any:
        from shadow.runner import call_pair

        return call_pair(self, kwargs)

    def __repr__(self) -> str:
        return f"<Pair {self.name}>"


_pairs: dict[str, Pair] = {}


def register(pair: Pair) -> Pair:
    if pair.name in _pairs:
        raise ValueError(f"Pair {pair.name!r} is registered twice")
    _pairs[pair.name] = pair
    return pair


def unregister(name: str) -> None:
    _pairs.pop(name, None)


def pair(name: str, *, legacy: Callable[..., Any], optimized: Callable[..., Any], **options: Any) -> Pair:
    """Declare and register a pair; returns the callable entry point."""
    return register(Pair(name=name, legacy=legacy, optimized=optimized, **options))


@contextmanager
def temporarily(new_pair: Pair) -> Iterator[Pair]:
    """Register a pair for the duration of a block (test-only pairs)."""
    register(new_pair)
    try:
        yield new_pair
    finally:
        unregister(new_pair.name)


def all() -> list[Pair]:  # noqa: A001 - the contract's name
    return [_pairs[name] for name in sorted(_pairs)]


def get(name: str) -> Pair:
    try:
        return _pairs[name]
    except KeyError:
        raise UnknownPairError(f"Unknown pair {name!r}; registered pairs: {', '.join(sorted(_pairs)) or 'none'}") from None


def names() -> list[str]:
    return sorted(_pairs)
