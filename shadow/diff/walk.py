"""The comparison itself. `compare()` normalises both results, puts the lists the rules declare
unordered into canonical order (`_order`), then walks the two trees together (`_Walker`),
following the ignore patterns segment by segment and recording one `Difference` per leaf that
differs. Imports from every other module of shadow.diff; none of them imports this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shadow.diff.canonical import _EXACT, MISSING, canonical_key, normalise
from shadow.diff.paths import _LEN, Segment, _advance, _advance_any_index, _State, render_path
from shadow.diff.results import ComparisonResult, Difference
from shadow.diff.rules import CompareRules

_NUMBER_TYPES = frozenset({int, Decimal})


def _unmatched_pairs(keys_a: list[str], keys_b: list[str]) -> list[tuple[int, int]]:
    """Index pairs of the items left after cancelling identical keys, paired in sorted order.

    One merge over the two sorted key lists, so linear. Unpaired leftovers (when the lengths
    differ) are accounted for by the "#len" difference only.
    """
    left_a: list[int] = []
    left_b: list[int] = []
    i = j = 0
    size_a, size_b = len(keys_a), len(keys_b)
    while i < size_a and j < size_b:
        key_a, key_b = keys_a[i], keys_b[j]
        if key_a == key_b:
            i += 1
            j += 1
        elif key_a < key_b:
            left_a.append(i)
            i += 1
        else:
            left_b.append(j)
            j += 1
    left_a.extend(range(i, size_a))
    left_b.extend(range(j, size_b))
    return list(zip(left_a, left_b))


def _numbers_equal(a: int | Decimal, b: int | Decimal, tolerance: Decimal) -> bool:
    if a == b:
        return True
    a_finite = not isinstance(a, Decimal) or a.is_finite()
    b_finite = not isinstance(b, Decimal) or b.is_finite()
    if not (a_finite and b_finite):
        return isinstance(a, Decimal) and isinstance(b, Decimal) and a.is_nan() and b.is_nan()
    return _EXACT.abs(_EXACT.subtract(a, b)) <= tolerance


def _order(value: Any, states: tuple[_State, ...], sorted_keys: dict[int, list[str]]) -> Any:
    """`value` with every list at an unordered path sorted canonically, inner lists first.

    The sorted keys of each such list are stored in `sorted_keys` under the new list's id (the
    lists live as long as the comparison, so ids are not reused meanwhile).
    """
    here = any(state[1] == len(state[0]) for state in states)
    pending = tuple(state for state in states if state[1] != len(state[0]))
    kind = type(value)
    if kind is dict and pending:
        ordered = {}
        for key, item in value.items():
            below = _advance(pending, key)
            ordered[key] = _order(item, below, sorted_keys) if below else item
        return ordered
    if kind is list:
        items = value
        if pending:
            below_all = _advance_any_index(pending)
            if below_all is None:
                items = [_order(item, _advance(pending, index), sorted_keys) for index, item in enumerate(value)]
            elif below_all:
                items = [_order(item, below_all, sorted_keys) for item in value]
        if not here:
            return items
        keyed = sorted(((canonical_key(item), item) for item in items), key=_first)
        items = [item for _, item in keyed]
        sorted_keys[id(items)] = [key for key, _ in keyed]
        return items
    return value


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


class _Walker:
    """Walks two normalised trees together, collecting differences."""

    def __init__(self, rules: CompareRules, sorted_keys: dict[int, list[str]]) -> None:
        self.sorted_keys = sorted_keys
        self.tolerance = rules.tolerance
        self.reasons = tuple(rule.reason for rule in rules.ignore)
        self.personal_fields = rules.personal_fields
        self.path: list[Segment] = []
        self.differences: list[Difference] = []
        self.ignored: list[Difference] = []

    def step(
        self, states: tuple[_State, ...], reason: str | None, segment: Segment
    ) -> tuple[tuple[_State, ...], str | None]:
        """The ignore states and reason one segment down; once a rule matched, the subtree is settled."""
        if not states:
            return states, reason
        return self.step_to(_advance(states, segment), reason)

    def step_to(self, states: tuple[_State, ...], reason: str | None) -> tuple[tuple[_State, ...], str | None]:
        """Settle already advanced states: the first finished rule gives the reason."""
        finished = [tag for pattern, matched, tag in states if matched == len(pattern)]
        if finished:
            return (), self.reasons[min(finished)]
        return states, reason

    def record(self, legacy: Any, optimized: Any, reason: str | None, personal: bool) -> None:
        difference = Difference(
            render_path(self.path), legacy, optimized, reason, personal, self.personal_fields
        )
        (self.ignored if reason else self.differences).append(difference)

    def walk(self, a: Any, b: Any, states: tuple[_State, ...], reason: str | None, personal: bool) -> None:
        kind_a, kind_b = type(a), type(b)
        path = self.path
        if kind_a is dict and kind_b is dict:
            personal_fields = self.personal_fields
            for key, item in a.items():
                path.append(key)
                key_states, key_reason = self.step(states, reason, key)
                key_personal = personal or key in personal_fields
                if key in b:
                    self.walk(item, b[key], key_states, key_reason, key_personal)
                else:
                    self.record(item, MISSING, key_reason, key_personal)
                path.pop()
            for key, item in b.items():
                if key not in a:
                    path.append(key)
                    self.record(MISSING, item, self.step(states, reason, key)[1], personal or key in personal_fields)
                    path.pop()
        elif kind_a is list and kind_b is list:
            if len(a) != len(b):
                path.append(_LEN)
                self.record(len(a), len(b), self.step(states, reason, _LEN)[1], personal)
                path.pop()
            keys_a = self.sorted_keys.get(id(a))
            keys_b = self.sorted_keys.get(id(b))
            pairs: Iterable[tuple[int, int]]
            if keys_a is not None and keys_b is not None:
                pairs = _unmatched_pairs(keys_a, keys_b)
            else:
                pairs = zip(range(len(a)), range(len(b)))
            below = _advance_any_index(states) if states else None
            if below is not None:
                # Every item gets the same ignore states, computed once.
                item_states, item_reason = self.step_to(below, reason)
                for index_a, index_b in pairs:
                    path.append(index_a)
                    self.walk(a[index_a], b[index_b], item_states, item_reason, personal)
                    path.pop()
            else:
                for index_a, index_b in pairs:
                    path.append(index_a)
                    self.walk(a[index_a], b[index_b], *self.step(states, reason, index_a), personal)
                    path.pop()
        elif kind_a in _NUMBER_TYPES and kind_b in _NUMBER_TYPES:
            if not _numbers_equal(a, b, self.tolerance):
                self.record(a, b, reason, personal)
        elif kind_a is not kind_b or a != b:
            self.record(a, b, reason, personal)


def compare(legacy: Any, optimized: Any, rules: CompareRules = CompareRules()) -> ComparisonResult:  # noqa: B008 (a frozen dataclass)
    """Normalise both results and return their differences under `rules` (see the shadow.diff docstring)."""
    legacy, optimized = normalise(legacy), normalise(optimized)
    unordered_states = rules._unordered_states
    sorted_keys: dict[int, list[str]] = {}
    if unordered_states:
        legacy = _order(legacy, unordered_states, sorted_keys)
        optimized = _order(optimized, unordered_states, sorted_keys)
    walker = _Walker(rules, sorted_keys)
    ignore_states = rules._ignore_states
    root_rules = [tag for pattern, _, tag in ignore_states if not pattern]
    if root_rules:
        walker.walk(legacy, optimized, (), walker.reasons[min(root_rules)], False)
    else:
        walker.walk(legacy, optimized, ignore_states, None, False)
    return ComparisonResult(differences=tuple(walker.differences), ignored=tuple(walker.ignored))
