"""Test helpers: force one side of a pair, whatever its flag says."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shadow.outcome import SIDES

_forced: dict[str, str] = {}


def forced_side(pair_name: str) -> str | None:
    return _forced.get(pair_name)


@contextmanager
def force_side(pair_name: str, side: str) -> Iterator[None]:
    """Serve `side` ("legacy" or "optimized") for every call of the pair inside the block."""
    if side not in SIDES:
        raise ValueError(f"side must be 'legacy' or 'optimized', got {side!r}")
    previous = _forced.get(pair_name)
    _forced[pair_name] = side
    try:
        yield
    finally:
        if previous is None:
            _forced.pop(pair_name, None)
        else:
            _forced[pair_name] = previous
