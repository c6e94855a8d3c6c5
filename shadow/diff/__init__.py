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

Modules
-------
Read them in this order; each imports only the ones above it (no cycles):

- `canonical`: `normalise`, `canonical_key` and `MISSING`, the value domain of a comparison.
- `paths`: paths and path patterns: `render_path`, the cached pattern compiler and its matcher.
- `rules`: `CompareRules`, `IgnoreRule` and `DEFAULT_PERSONAL_FIELDS` (imports `paths`).
- `render`: `render_value`, `redact_value`, `REDACTED`, and `describe_arguments` for call arguments
  (imports `canonical`, `rules`).
- `results`: `Difference` and `ComparisonResult` (imports `render`, `rules`).
- `walk`: `compare()` and the walker behind it (imports all of the above).

Other code imports from `shadow.diff` only.
"""

from __future__ import annotations

from shadow.diff.canonical import MISSING, canonical_key, normalise
from shadow.diff.paths import render_path
from shadow.diff.render import REDACTED, describe_arguments, format_argument, plural, redact_value, render_value
from shadow.diff.results import ComparisonResult, Difference
from shadow.diff.rules import DEFAULT_PERSONAL_FIELDS, CompareRules, IgnoreRule
from shadow.diff.walk import compare

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
    "describe_arguments",
    "format_argument",
    "normalise",
    "plural",
    "redact_value",
    "render_path",
    "render_value",
]
