"""The path syntax described in the shadow.diff docstring. `render_path` turns a sequence of
segments (str keys, int indices, the `_LEN` length marker) into path text; `_compile_pattern`
parses a path pattern into segment matchers once (cached, ValueError when malformed); while a
tree is walked, `_advance` and `_advance_any_index` move the patterns matched so far (`_State`s)
one segment down. Imports nothing from the rest of shadow.diff.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any


class _Length:
    """The "#len" path segment: the length of the list above it."""

    def __repr__(self) -> str:
        return "#len"


_LEN = _Length()


_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_DIGITS = re.compile(r"[0-9]+")
_JSON = json.JSONDecoder()

# Compiled pattern segments: (kind,) or (kind, value).
_KEY, _ANY_KEY, _INDEX, _ANY_INDEX, _LENGTH = "key", "*key", "index", "*index", "len"

Segment = str | int | _Length
# (kind,) or (kind, key or index).
PatternSegment = tuple[Any, ...]


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
            parts.append(_render_key(str(segment)))
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
