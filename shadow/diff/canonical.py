"""The value domain of a comparison. `normalise` turns a result into plain, comparable data
(dicts with string keys, lists, Decimals instead of floats, UTC datetimes, repr() for anything
else); `canonical_key` gives a text key that is equal for equal normalised values (dict keys
sorted, 12 and 12.00 alike), by which sets and unordered lists are ordered; `MISSING` is the side
of a difference where a dict key is absent; `_EXACT` is the Decimal context that numbers are
canonicalised and subtracted in. Imports nothing from the rest of shadow.diff.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Context, Decimal
from typing import Any


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


_PASS_THROUGH = frozenset({str, int, bool, type(None), dt.date, dt.time, dt.timedelta})
# Comparing a signalling NaN raises, even with ==; its quiet twin compares like any value.
_QUIET_NAN = Decimal("NaN")
# Wide enough that subtracting realistic values is exact, and independent of the caller's context.
_EXACT = Context(prec=100)


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
