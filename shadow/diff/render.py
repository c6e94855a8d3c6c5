"""Normalised values as text, and personal data hidden. `render_value` gives bounded, readable
text for a value, optionally with the values of personal keys inside it redacted; `redact_value`
gives a normalised copy with those values replaced by `REDACTED`; `_redacted_side` is what
`Difference.render` shows for a personal difference. `describe_arguments` gives a call's keyword
arguments in plain words (`rollout verify`, the records), `plural` counts with a noun. Imports
`normalise` and `MISSING` from `canonical` and `DEFAULT_PERSONAL_FIELDS` from `rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from shadow.diff.canonical import MISSING, normalise
from shadow.diff.rules import DEFAULT_PERSONAL_FIELDS

REDACTED = "[redacted]"
VALUE_RENDER_LIMIT = 200


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


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 run`, `3 runs`; `words` for irregular plurals (`2 queries`)."""
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def format_argument(name: str, value: Any, personal_fields: frozenset[str] | None) -> str:
    """One argument's value; with `personal_fields`, personal values redacted (the key itself, or keys inside it)."""
    if personal_fields is not None and name in personal_fields:
        return REDACTED
    if value is None or isinstance(value, (str, int, Decimal)):
        return str(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    # Lists, dicts and dataclasses (Copilot records, filters) as plain data, cut to about 200 characters.
    text = render_value(normalise(value), personal_fields=personal_fields)
    if isinstance(value, (list, tuple, set, frozenset)):
        text += f" ({plural(len(value), 'item')})"
    return text


def describe_arguments(kwargs: dict[str, Any], personal_fields: frozenset[str] | None = None) -> str:
    """`start_date=2024-05-01, records=[{'login': [redacted], …}] (40 items)`; None: nothing redacted."""
    return ", ".join(
        f"{key}={format_argument(key, value, personal_fields)}" for key, value in kwargs.items()
    ) or "(no arguments)"
