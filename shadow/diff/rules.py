"""How a pair's two results are compared: `CompareRules` (numeric tolerance, patterns of the
lists that are unordered, `IgnoreRule`s for known and accepted differences, personal fields) and
`DEFAULT_PERSONAL_FIELDS`, the dict keys treated as personal unless a pair says otherwise. Rules
are validated and their patterns compiled when built, so a malformed one fails then and not while
comparing. Imports the pattern compiler (and its "#len" segment kind) from `paths`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shadow.diff.paths import _LENGTH, _compile_pattern, _State

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
    # The patterns compiled once, ready for walking; set by __post_init__.
    _unordered_states: tuple[_State, ...] = field(init=False, repr=False, compare=False)
    _ignore_states: tuple[_State, ...] = field(init=False, repr=False, compare=False)

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
