"""The pairs: one optimized function and its legacy twin, registered once under a dotted name.

A pair's name is also the name of the rollout flag that decides which side
serves. Pairs are declared where their entry point lives (e.g.
apps/metrics/services/dashboard/__init__.py), so this package knows nothing
about what the functions compute.

This module is plain data: it does not know how a pair is run. Calling a
pair hands it to the dispatcher that the shadow app installs when Django
loads it (shadow.dispatch, from ShadowConfig.ready).
"""

from __future__ import annotations

import io
import socket
import threading
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, ParamSpec, TypeVar

from shadow import conf
from shadow.diff import CompareRules
from shadow.errors import ShadowError, UnknownPairError
from shadow.outcome import LEGACY, OPTIMIZED
from shadow.revisions import fingerprint

P = ParamSpec("P")
R = TypeVar("R")

# (team) -> keyword-argument sets (without team) that `rollout verify` compares.
Examples = Callable[[Any], list[dict[str, Any]]]
# (pair, the call's keyword arguments) -> what the call returns.
Dispatcher = Callable[["Pair[Any, Any]", dict[str, Any]], Any]


@dataclass(frozen=True)
class EvidenceNeeds:
    """What a team's evidence for the current code must hold before the gate lets it flip to optimized.

    min_comparisons and window_days default to SHADOW_MIN_COMPARISONS and
    SHADOW_EVIDENCE_DAYS; min_argument_sets counts distinct call arguments
    among those comparisons. A pair that runs rarely (once a week per team,
    say) declares a longer window and fewer comparisons, reached on the
    schedule or by backfill (`rollout verify --backfill`).
    """

    min_comparisons: int | None = None
    min_argument_sets: int = 0
    window_days: int | None = None

    @property
    def comparisons(self) -> int:
        return self.min_comparisons if self.min_comparisons is not None else int(conf.get("SHADOW_MIN_COMPARISONS"))

    @property
    def days(self) -> int:
        return self.window_days if self.window_days is not None else int(conf.get("SHADOW_EVIDENCE_DAYS"))


@dataclass(frozen=True)
class CachedEntry:
    """What a cached pair would serve now without computing: the value, and how old it is (None: unknown)."""

    value: Any
    age_seconds: float | None = None


@dataclass(frozen=True)
class PairCache:
    """A pair whose optimized side may answer from a cache.

    compute: the optimized side without its cache (same keyword arguments);
    comparisons run this, so they compare two computations, never a cached
    value against a fresh one. peek: the entry the optimized side would serve
    for these arguments now (None when there is none), read without computing;
    a sampled call checks it against the fresh value ("stale cache").
    """

    compute: Callable[..., Any]
    peek: Callable[..., CachedEntry | None]


@dataclass(frozen=True, eq=False)
class Pair(Generic[P, R]):
    """A pair's entry point: called like its legacy function, with keyword arguments (team=… always).

    It is the only way callers reach either side.

    The pair is typed like its sides: `Pair[P, R]` with legacy and optimized
    both `Callable[P, R]`, so a call type-checks against the legacy signature.

    writes: the functions write rows. Then `snapshot(**same kwargs)` must read
    back the rows they write as plain data; the shadow side runs in a savepoint
    that is rolled back, and the two resulting states are compared.
    deferred: a sampled call only enqueues the comparison; a Celery worker runs it.
    stream: both sides return iterators of rows (e.g. an export) and so does
    the pair; sampled calls compare the rows as they pass, never holding them
    (shadow/streaming.py). Stream pairs cannot be deferred or write, and their
    rows are compared exactly: ignore and unordered rules are refused.
    time_budget_ms: the shadow side's budget (default SHADOW_TIME_BUDGET_MS).
    revision: the code revision both sides carry in the evidence; by default
    each side's own fingerprint of the code it runs (shadow.revisions).
    cache: for a read pair whose optimized side serves from a cache (PairCache).
    evidence: what readiness needs (EvidenceNeeds; default: the settings' gate).
    backfill: team -> argument sets over past periods (weeks, days) that
    `rollout verify --backfill` compares, each counting once as evidence.
    explore: team -> argument sets generated from the team's data (edges:
    the last day with data, single days, weeks, DST changes, limits, filters)
    that `rollout verify` compares beside the examples.
    examples: team -> list of keyword-argument dicts (without team) that
    `rollout verify` runs when asked to compare on demand.
    """

    name: str
    legacy: Callable[P, R]
    optimized: Callable[P, R]
    description: str = ""
    rules: CompareRules = field(default_factory=CompareRules)
    writes: bool = False
    snapshot: Callable[..., Any] | None = None
    deferred: bool = False
    time_budget_ms: int | None = None
    examples: Examples | None = None
    stream: bool = False
    revision: str | None = None
    cache: PairCache | None = None
    evidence: EvidenceNeeds = field(default_factory=EvidenceNeeds)
    backfill: Examples | None = None
    explore: Examples | None = None

    def __post_init__(self) -> None:
        if self.cache is not None and (self.writes or self.stream):
            raise ValueError(f"Pair {self.name!r}: only read pairs can declare a cache")
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

        for problem in uncopyable_arguments(self.legacy):
            raise ValueError(
                f"Pair {self.name!r}: {problem}, which cannot be copied for each side. Each side gets its own deep "
                "copy of the call's arguments, so neither can change what the other or the caller sees; "
                "take a list, tuple or plain value instead"
            )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if args:
            raise TypeError(f"{self.name} takes keyword arguments only")
        if _dispatcher is None:
            raise ShadowError(f"{self.name} was called before the shadow app was loaded (INSTALLED_APPS)")
        result: R = _dispatcher(self, dict(kwargs))
        return result

    @property
    def budget_ms(self) -> int:
        """The shadow side's time budget: the pair's own, else SHADOW_TIME_BUDGET_MS."""
        return self.time_budget_ms or int(conf.get("SHADOW_TIME_BUDGET_MS"))

    def computing(self) -> Pair[P, R]:
        """The pair that comparisons run: a cached pair's optimized side without its cache (never registered)."""
        if self.cache is None:
            return self
        return replace(self, optimized=self.cache.compute, cache=None)

    def revisions(self) -> dict[str, str]:
        """{"legacy": …, "optimized": …}: the revision of the code each side runs now."""
        if self.revision:
            return {LEGACY: self.revision, OPTIMIZED: self.revision}
        return {LEGACY: _fingerprint(self.legacy), OPTIMIZED: _fingerprint(self.optimized)}

    def side(self, side: str) -> Callable[P, R]:
        """The function of one side, by name ("legacy" or "optimized")."""
        if side == LEGACY:
            return self.legacy
        if side == OPTIMIZED:
            return self.optimized
        raise ValueError(f"side must be 'legacy' or 'optimized', got {side!r}")

    def __repr__(self) -> str:
        return f"<Pair {self.name}>"


# Argument types a deep copy cannot give each side its own of: an iterator would be consumed by one side
# (or cannot be copied at all), a file, socket or lock is one shared resource.
# Files are iterators too: the more specific kinds come first.
UNCOPYABLE: dict[type, str] = {
    io.IOBase: "a file",
    socket.socket: "a socket",
    type(threading.Lock()): "a lock",
    Iterator: "an iterator",
}


def uncopyable_arguments(function: Callable[..., Any]) -> list[str]:
    """Arguments whose annotation names a type that cannot be copied per side ("argument 'rows' is an iterator")."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        # Annotations that cannot be resolved here (names imported only for type checking): the call-time copy
        # still refuses such an argument, and the call is then served without a comparison.
        return []
    problems = []
    for name, hint in hints.items():
        if name == "return":
            continue
        for kind in _alternatives(hint):
            origin = typing.get_origin(kind) or kind
            found = next(
                (label for base, label in UNCOPYABLE.items() if isinstance(origin, type) and issubclass(origin, base)),
                None,
            )
            if found:
                problems.append(f"argument {name!r} is {found} ({getattr(kind, '__name__', kind)})")
                break
    return problems


def _alternatives(hint: Any) -> list[Any]:
    """The members of a union (X | Y, Optional[X]), or the hint itself."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [member for member in typing.get_args(hint) if member is not type(None)]
    return [hint]


# Code does not change while a process runs: each side is fingerprinted once (kept by id, as callable
# objects need not be hashable; the entry holds the object, so its id cannot be reused).
_fingerprints: dict[int, tuple[Callable[..., Any], str]] = {}


def _fingerprint(function: Callable[..., Any]) -> str:
    known = _fingerprints.get(id(function))
    if known is None or known[0] is not function:
        known = _fingerprints[id(function)] = (function, fingerprint(function))
    return known[1]

_pairs: dict[str, Pair[Any, Any]] = {}
_dispatcher: Dispatcher | None = None


def install_dispatcher(dispatcher: Dispatcher) -> None:
    """Called once by the shadow app when Django loads it: from then on, calling a pair runs it."""
    global _dispatcher
    _dispatcher = dispatcher


def register(pair: Pair[P, R]) -> Pair[P, R]:
    if pair.name in _pairs:
        raise ValueError(f"Pair {pair.name!r} is registered twice")
    _pairs[pair.name] = pair
    return pair


def unregister(name: str) -> None:
    _pairs.pop(name, None)


def pair(
    name: str,
    *,
    legacy: Callable[P, R],
    optimized: Callable[P, R],
    description: str = "",
    rules: CompareRules | None = None,
    writes: bool = False,
    snapshot: Callable[..., Any] | None = None,
    deferred: bool = False,
    time_budget_ms: int | None = None,
    examples: Examples | None = None,
    stream: bool = False,
    revision: str | None = None,
    cache: PairCache | None = None,
    evidence: EvidenceNeeds | None = None,
    backfill: Examples | None = None,
    explore: Examples | None = None,
) -> Pair[P, R]:
    """Declare and register a pair; returns the callable entry point, typed like `legacy`."""
    return register(
        Pair(
            name=name, legacy=legacy, optimized=optimized, description=description,
            rules=rules if rules is not None else CompareRules(), writes=writes, snapshot=snapshot,
            deferred=deferred, time_budget_ms=time_budget_ms, examples=examples, stream=stream,
            revision=revision, cache=cache, evidence=evidence or EvidenceNeeds(), backfill=backfill,
            explore=explore,
        )
    )


@contextmanager
def temporarily(new_pair: Pair[P, R]) -> Iterator[Pair[P, R]]:
    """Register a pair for the duration of a block (test-only pairs)."""
    register(new_pair)
    try:
        yield new_pair
    finally:
        unregister(new_pair.name)


def all() -> list[Pair[Any, Any]]:  # noqa: A001 - the registry's vocabulary
    return [_pairs[name] for name in sorted(_pairs)]


def get(name: str) -> Pair[Any, Any]:
    try:
        return _pairs[name]
    except KeyError:
        raise UnknownPairError(
            f"Unknown pair {name!r}; registered pairs: {', '.join(sorted(_pairs)) or 'none'}"
        ) from None


def names() -> list[str]:
    return sorted(_pairs)


# --- the data pairs run over, for `rollout verify` ----------------------------------------


@dataclass(frozen=True)
class TeamData:
    """What the application tells verify about its teams' data; registered once (register_team_data).

    shapes(team): the edge-case shapes the team's rows hold, by name -> present; verify prints which it
    covered. generate(count, visit): build up to `count` synthetic edge-case teams one at a time, call
    visit(team) on each inside a savepoint rolled back afterwards, and return how many were built.
    sizes(team ids): how much data each team has, by team id (the autopilot promotes small teams first).
    """

    shapes: Callable[[Any], dict[str, bool]]
    generate: Callable[[int, Callable[[Any], None]], int]
    sizes: Callable[[list[int]], dict[int, int]] | None = None


_team_data: TeamData | None = None


def register_team_data(data: TeamData) -> None:
    global _team_data
    _team_data = data


def team_data() -> TeamData | None:
    """The registered TeamData, or None when the application declared none."""
    return _team_data
