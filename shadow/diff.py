"""Normalise two results, compare them under a pair's rules, and describe each difference by path.

Both sides of a pair return plain data. `compare()` normalises both (see `normalise`), puts the
collections declared unordered into a canonical order, then walks the two trees together and
records one `Difference` per leaf that differs. It is linear in the size of the data, apart from
sorting the unordered collections (n log n each).

Paths
-----
A path names one place in a normalised value::

    path     := segment*                  the empty path "" is the root; it renders as "<root>"
    segment  := "." name                  a dict key made of [A-Za-z0-9_-] only:  .prs_merged
              | "[" json-string "]"       any other dict key, JSON-quoted:        ["a.b"]  [""]  ["*"]
              | "[" digits "]"            a list index:                           [3]
              | "#len"                    the length of the list at that path:    [0].rows#len

Examples: ".prs_merged", "[3].avg_cycle_time", "[0].rows[2].title". Two lists of different lengths
are compared item by item over the common prefix, plus one difference at `<list path>#len` whose
values are the two lengths (`[0].rows#len: 3 != 4`). Dict keys are structure, not data: they are
never redacted, so results should not be keyed by personal values.

Path patterns
-------------
Patterns use the same syntax plus two wildcards: "[*]" matches any list index and "*" as a whole
key segment (".*") matches any dict key. A pattern may omit the dot before its first key
("rows[*].title" is ".rows[*].title"). A quoted key is always literal (`["*"]` is the key "*").
"#len" may only end a pattern. Patterns are parsed once and cached; a malformed one raises
ValueError when the rules are built, not while comparing.

- An ignore pattern matches a path exactly or any path below it at a segment boundary:
  "[*].extra" covers "[3].extra", "[3].extra.x" and "[3].extra#len", but not "[3].extras".
  "" covers everything.
- An unordered pattern matches list paths exactly (it makes that list unordered, not the lists
  inside it): "" is the root list, "[*].tags" every row's tags.

Comparison rules
----------------
- Numbers (int and Decimal; floats become Decimals; bool is not a number) are equal when their
  absolute difference is at most `CompareRules.tolerance`; 12 equals Decimal("12.00"). NaN equals
  NaN and an infinity equals only itself.
- Any other pair of leaves is equal when both have the same type and compare equal. A type mismatch
  (list vs dict, "1" vs 1, None vs 0, True vs 1, a date vs a datetime, ...) is one difference at
  that path holding both whole values. A naive and an aware datetime always differ.
- Dict keys present on one side only give a difference at that key with `MISSING` on the other
  side: legacy keys first in legacy order, then optimized-only keys in optimized order.
- Unordered lists are compared as multisets. Each item gets a canonical text key (dict keys
  sorted, 12 and 12.00 alike, unordered lists inside it already ordered); both sides are sorted by
  it and items with identical keys on both sides cancel out. The remaining items are paired in
  sorted order and compared field by field, so one changed row is one difference, not a shifted
  cascade. An index in an unordered list's path is the item's position in the legacy side's
  sorted order. Items equal only within the tolerance do not cancel; they are paired by sort
  order, which is right unless several such items sort between each other.
- A difference matching an ignore rule goes to `ComparisonResult.ignored` with the first matching
  rule's reason (rules are tried in order; a rule on a shorter path wins over one below it).
- A difference is personal when a dict key along its path is one of `personal_fields`; rendering
  with redact=True hides both values as "[redacted]" (a `MISSING` side stays "<missing>": absence
  is not personal). Other values are rendered with personal keys inside them redacted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

__all__ = [
    "DEFAULT_PERSONAL_FIELDS",
    "MISSING",
    "REDACTED",
    "CompareRules",
    "ComparisonResult",
    "Difference",
    "IgnoreRule",
    "canonical_key",
    "compare",
    "normalise",
    "redact_value",
    "render_path",
    "render_value",
]

DEFAULT_PERSONAL_FIELDS = frozenset(
    {
        "member_name",
        "display_name",
        "name",
        "title",
        "body",
        "message",
        "author_name",
        "reviewer_name",
        "login",
        "user_login",
        "github_username",
        "email",
        "avatar_url",
        "initials",
    }
)

REDACTED = "[redacted]"
VALUE_RENDER_LIMIT = 200


class _Missing:
    """The side of a difference where a dict key is absent. A singleton, also after pickling."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class _Length:
    """The "#len" path segment: the length of the list above it."""

    def __repr__(self) -> str:
        return "#len"


_LEN = _Length()


# --- paths and patterns -----------------------------------------------------------------------

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_DIGITS = re.compile(r"[0-9]+")
_JSON = json.JSONDecoder()

# Compiled pattern segments: (kind,) or (kind, value).
_KEY, _ANY_KEY, _INDEX, _ANY_INDEX, _LENGTH = "key", "*key", "index", "*index", "len"

Segment = str | int | _Length
PatternSegment = tuple


def _render_key(key: str) -> str:
    if _SIMPLE_KEY.fullmatch(key):
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def render_path(segments: tuple[Segment, ...] | list[Segment]) -> str:
    """The path text for a sequence of segments (str keys, int indices, the length marker)."""
    parts = []
    for segment in segments:
        if segment is _LEN:
            parts.append("#len")
        elif type(segment) is int:
            parts.append(f"[{segment}]")
        else:
            parts.append(_render_key(segment))
    return "".join(parts)


@functools.lru_cache(maxsize=1024)
def _compile_pattern(pattern: str) -> tuple[PatternSegment, ...]:
    """Parse a path pattern into segment matchers; ValueError names the offending position."""
    if not isinstance(pattern, str):
        raise ValueError(f"A path pattern must be a string, not {type(pattern).__name__}")
    segments: list[PatternSegment] = []
    position, size = 0, len(pattern)

    def fail(why: str) -> ValueError:
        return ValueError(f"Invalid path pattern {pattern!r} at position {position}: {why}")

    def key_at(start: int) -> tuple[PatternSegment, int]:
        if pattern.startswith("*", start):
            return (_ANY_KEY,), start + 1
        match = _SIMPLE_KEY.match(pattern, start)
        if match is None:
            raise fail('expected a key of [A-Za-z0-9_-], "*", or a quoted key in ["..."]')
        return (_KEY, match.group()), match.end()

    if size and pattern[0] not in ".[#":
        segment, position = key_at(0)
        segments.append(segment)
    while position < size:
        if segments and segments[-1] == (_LENGTH,):
            raise fail('"#len" must end the pattern')
        char = pattern[position]
        if char == ".":
            segment, position = key_at(position + 1)
        elif char == "[":
            inner = position + 1
            if pattern.startswith("*]", inner):
                segment, position = (_ANY_INDEX,), inner + 2
            elif (digits := _DIGITS.match(pattern, inner)) is not None:
                segment, position = (_INDEX, int(digits.group())), digits.end()
                if not pattern.startswith("]", position):
                    raise fail('expected "]"')
                position += 1
            elif pattern.startswith('"', inner):
                try:
                    key, position = _JSON.raw_decode(pattern, inner)
                except json.JSONDecodeError as error:
                    raise fail(f"bad quoted key ({error.msg})") from None
                if not pattern.startswith("]", position):
                    raise fail('expected "]"')
                segment, position = (_KEY, key), position + 1
            else:
                raise fail('expected "[*]", "[<index>]" or ["<key>"]')
        elif pattern.startswith("#len", position):
            segment, position = (_LENGTH,), position + 4
        else:
            raise fail('expected ".", "[" or "#len"')
        segments.append(segment)
    return tuple(segments)


def _segment_matches(matcher: PatternSegment, segment: Segment) -> bool:
    kind = matcher[0]
    if kind == _KEY:
        return type(segment) is str and segment == matcher[1]
    if kind == _ANY_KEY:
        return type(segment) is str
    if kind == _INDEX:
        return type(segment) is int and segment == matcher[1]
    if kind == _ANY_INDEX:
        return type(segment) is int
    return segment is _LEN


# A pattern being matched while walking: (compiled pattern, segments matched so far, tag).
_State = tuple[tuple[PatternSegment, ...], int, int]


def _advance(states: tuple[_State, ...], segment: Segment) -> tuple[_State, ...]:
    """The states still alive one segment further down; a finished state matches no deeper path."""
    if not states:
        return states
    return tuple(
        (pattern, matched + 1, tag)
        for pattern, matched, tag in states
        if matched < len(pattern) and _segment_matches(pattern[matched], segment)
    )


def _advance_any_index(states: tuple[_State, ...]) -> tuple[_State, ...] | None:
    """The states below every item of a list, or None when a pattern names a specific index.

    Most patterns use "[*]", so one computation serves all items of a long list.
    """
    for pattern, matched, _ in states:
        if matched < len(pattern) and pattern[matched][0] == _INDEX:
            return None
    return _advance(states, 0)


# --- rules and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    """A known, accepted difference: differences at or below `path` are ignored because of `reason`."""

    path: str
    reason: str = ""

    def __post_init__(self) -> None:
        _compile_pattern(self.path)
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"IgnoreRule({self.path!r}) needs a reason saying why the difference is acceptable")


@dataclass(frozen=True)
class CompareRules:
    """How a pair's two results are compared. Validated and compiled when built."""

    tolerance: Decimal = Decimal("0.000001")
    unordered: tuple[str, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()
    personal_fields: frozenset[str] = DEFAULT_PERSONAL_FIELDS

    def __post_init__(self) -> None:
        tolerance = self.tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, (Decimal, int, float, str)):
            raise ValueError(f"tolerance must be a Decimal, not {type(tolerance).__name__}")
        try:
            tolerance = tolerance if isinstance(tolerance, Decimal) else Decimal(str(tolerance))
        except ArithmeticError:
            raise ValueError(f"tolerance must be a number, not {self.tolerance!r}") from None
        if not tolerance.is_finite() or tolerance < 0:
            raise ValueError(f"tolerance must be a finite number >= 0, not {tolerance}")
        # A bare string would otherwise be read as a tuple of one-character patterns.
        for name in ("unordered", "ignore"):
            if isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a tuple, not a string")
        unordered = tuple(self.unordered)
        ignore = tuple(self.ignore)
        for rule in ignore:
            if not isinstance(rule, IgnoreRule):
                raise ValueError(f"ignore holds IgnoreRule objects, not {type(rule).__name__}")
        unordered_patterns = tuple(_compile_pattern(pattern) for pattern in unordered)
        for pattern, compiled in zip(unordered, unordered_patterns):
            if compiled and compiled[-1] == (_LENGTH,):
                raise ValueError(f"unordered pattern {pattern!r} names a length, not a collection")
        object.__setattr__(self, "tolerance", tolerance)
        object.__setattr__(self, "unordered", unordered)
        object.__setattr__(self, "ignore", ignore)
        object.__setattr__(self, "personal_fields", frozenset(self.personal_fields))
        object.__setattr__(
            self, "_unordered_states", tuple((compiled, 0, 0) for compiled in unordered_patterns)
        )
        object.__setattr__(
            self,
            "_ignore_states",
            tuple((_compile_pattern(rule.path), 0, index) for index, rule in enumerate(ignore)),
        )


@dataclass(frozen=True)
class Difference:
    """One place where the two results differ, with both normalised values there."""

    path: str
    legacy: Any
    optimized: Any
    ignored_because: str | None = None
    personal: bool = False
    # Which keys render_value redacts inside container values; set by compare() from the rules.
    personal_fields: frozenset[str] = field(default=DEFAULT_PERSONAL_FIELDS, repr=False, compare=False)

    def render(self, *, redact: bool) -> str:
        """`[3].avg_cycle_time: 12.50 != 12.51`; ignored ones end with `  (ignored: <reason>)`."""
        if redact and self.personal:
            legacy, optimized = _redacted_side(self.legacy), _redacted_side(self.optimized)
        else:
            fields = self.personal_fields if redact else None
            legacy = render_value(self.legacy, personal_fields=fields)
            optimized = render_value(self.optimized, personal_fields=fields)
        text = f"{self.path or '<root>'}: {legacy} != {optimized}"
        if self.ignored_because:
            text += f"  (ignored: {self.ignored_because})"
        return text


@dataclass(frozen=True)
class ComparisonResult:
    """All differences of one comparison, split into those that count and those ignored by a rule."""

    differences: tuple[Difference, ...]
    ignored: tuple[Difference, ...] = ()

    @property
    def matched(self) -> bool:
        """True when every difference (if any) is covered by an ignore rule."""
        return not self.differences

    def lines(self, *, redact: bool, limit: int = 50) -> list[str]:
        """The rendered unignored differences, at most `limit`, then "… and N more" when cut."""
        if limit < 0:
            raise ValueError("limit must be >= 0")
        lines = [difference.render(redact=redact) for difference in self.differences[:limit]]
        if len(self.differences) > limit:
            lines.append(f"… and {len(self.differences) - limit} more")
        return lines


# --- normalisation -----------------------------------------------------------------------------

_PASS_THROUGH = frozenset({str, int, bool, type(None), dt.date, dt.time, dt.timedelta})
# Comparing a signalling NaN raises, even with ==; its quiet twin compares like any value.
_QUIET_NAN = Decimal("NaN")


def normalise(value: Any) -> Any:
    """Plain, comparable data: what both sides' results are compared as.

    dataclasses -> dicts of their fields; tuples and lists -> lists; sets and frozensets -> lists
    sorted by the canonical key of each normalised item; mappings -> dicts whose keys are strings
    (other keys become str() of their normalised value, e.g. dates as ISO text; keys that collide
    that way keep the last value); float -> Decimal(str(value)); a signalling NaN -> NaN; Decimal,
    int, bool (not a number here), str, None, dates, times and timedeltas unchanged (subclasses
    become the base type); aware datetimes -> UTC, naive ones unchanged; Enum -> its normalised
    value; anything else -> repr(value). Idempotent. Self-referencing data is not supported
    (RecursionError).
    """
    kind = type(value)
    if kind in _PASS_THROUGH:
        return value
    if kind is Decimal:
        return _QUIET_NAN if value.is_snan() else value
    if kind is dict:
        return {_normalise_key(key): normalise(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [normalise(item) for item in value]
    if kind is float:
        return Decimal(str(value))
    if kind is dt.datetime:
        return _normalise_datetime(value)
    if isinstance(value, enum.Enum):
        return normalise(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: normalise(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted((normalise(item) for item in value), key=canonical_key)
    # Subclasses of the plain types (SafeString, IntEnum-free int subclasses, OrderedDict, ...).
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return Decimal(str(float(value)))
    if isinstance(value, Decimal):
        return normalise(Decimal(value))
    if isinstance(value, Mapping):
        return {_normalise_key(key): normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(item) for item in value]
    if isinstance(value, dt.datetime):
        return _normalise_datetime(value)
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    return repr(value)


def _normalise_datetime(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    return value.astimezone(dt.UTC)


def _normalise_key(key: Any) -> str:
    if type(key) is str:
        return key
    key = normalise(key)
    if isinstance(key, str):
        return key
    if isinstance(key, (dt.date, dt.time)):
        return key.isoformat()
    return str(key)


def canonical_key(value: Any) -> str:
    """A text key equal for equal normalised values: dict keys sorted, 12 and 12.00 alike."""
    kind = type(value)
    if kind is str:
        return "s" + repr(value)
    if kind is int:
        return f"n{value}"
    parts: list[str] = []
    _canonical_parts(value, parts)
    return "".join(parts)


def _canonical_parts(value: Any, out: list[str]) -> None:
    kind = type(value)
    # Strings and ints are handled in the loops too: they are most leaves, and calls cost.
    if kind is str:
        out.append("s" + repr(value))
    elif kind is dict:
        out.append("{")
        for key in sorted(value):
            item = value[key]
            item_kind = type(item)
            if item_kind is str:
                out.append(f"{key!r}:s{item!r},")
            elif item_kind is int:
                out.append(f"{key!r}:n{item},")
            else:
                out.append(repr(key) + ":")
                _canonical_parts(item, out)
                out.append(",")
        out.append("}")
    elif kind is list:
        out.append("[")
        for item in value:
            item_kind = type(item)
            if item_kind is str:
                out.append(f"s{item!r},")
            elif item_kind is int:
                out.append(f"n{item},")
            else:
                _canonical_parts(item, out)
                out.append(",")
        out.append("]")
    elif kind is bool:
        out.append("b" + str(value))
    elif kind is int:
        out.append("n" + str(value))
    elif kind is Decimal:
        out.append("n" + _canonical_decimal(value))
    elif value is None:
        out.append("z")
    else:
        out.append(f"o{kind.__name__}:{value!r}")


def _canonical_decimal(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"
    return format(value.normalize(_EXACT), "f")


# --- comparison --------------------------------------------------------------------------------

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


# Wide enough that subtracting realistic values is exact, and independent of the caller's context.
_EXACT = Context(prec=100)


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
    here = False
    pending = []
    for state in states:
        if state[1] == len(state[0]):
            here = True
        else:
            pending.append(state)
    pending = tuple(pending)
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
            below = _advance_any_index(pending)
            if below is None:
                items = [_order(item, _advance(pending, index), sorted_keys) for index, item in enumerate(value)]
            elif below:
                items = [_order(item, below, sorted_keys) for item in value]
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


def compare(legacy: Any, optimized: Any, rules: CompareRules = CompareRules()) -> ComparisonResult:
    """Normalise both results and return their differences under `rules` (see the module docstring)."""
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


# --- redaction and rendering -------------------------------------------------------------------


def redact_value(value: Any, personal_fields: frozenset[str] = DEFAULT_PERSONAL_FIELDS) -> Any:
    """A normalised copy of `value` with the value of every personal key, at any depth, "[redacted]".

    Every value under such a key is replaced, None and containers included; keys stay visible.
    """
    return _redact(normalise(value), frozenset(personal_fields))


def _redact(value: Any, personal_fields: frozenset[str]) -> Any:
    kind = type(value)
    if kind is dict:
        return {
            key: REDACTED if key in personal_fields else _redact(item, personal_fields) for key, item in value.items()
        }
    if kind is list:
        return [_redact(item, personal_fields) for item in value]
    return value


def _redacted_side(value: Any) -> str:
    return "<missing>" if value is MISSING else REDACTED


def render_value(
    value: Any, *, limit: int = VALUE_RENDER_LIMIT, personal_fields: frozenset[str] | None = None
) -> str:
    """Readable text for a normalised value, cut to about `limit` characters with "…".

    Strings are quoted ('abc'), Decimals and ints bare (12.50), dates and datetimes ISO, None as
    None, MISSING as <missing>, lists and dicts as compact [..] / {..} text. With
    `personal_fields`, the values of those keys inside dicts render as [redacted]. Rendering stops
    once the limit is passed, so a huge value costs no more than a short one.
    """
    parts: list[str] = []
    size = 0
    for chunk in _render_chunks(value, personal_fields):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return "".join(parts)[: max(limit - 1, 0)] + "…"
    return "".join(parts)


def _render_chunks(value: Any, personal_fields: frozenset[str] | None) -> Iterator[str]:
    kind = type(value)
    if kind is dict:
        yield "{"
        for position, (key, item) in enumerate(value.items()):
            yield (", " if position else "") + repr(key) + ": "
            if personal_fields is not None and key in personal_fields:
                yield REDACTED
            else:
                yield from _render_chunks(item, personal_fields)
        yield "}"
    elif kind is list:
        yield "["
        for position, item in enumerate(value):
            if position:
                yield ", "
            yield from _render_chunks(item, personal_fields)
        yield "]"
    elif kind is str:
        yield repr(value)
    elif isinstance(value, (dt.date, dt.time)):
        yield value.isoformat()
    elif value is MISSING or kind in (bool, int, Decimal, dt.timedelta) or value is None:
        yield str(value)
    else:
        yield repr(value)
