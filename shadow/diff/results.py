"""What a comparison returns: `Difference`, one path where the two results differ with both
normalised values there, the ignore rule's reason if one covers it and whether it is personal;
and `ComparisonResult`, the differences that count and those ignored. Both render themselves as
text, redacted or not. Imports rendering from `render` and `DEFAULT_PERSONAL_FIELDS` from `rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shadow.diff.render import _redacted_side, render_value
from shadow.diff.rules import DEFAULT_PERSONAL_FIELDS


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

    def sides(self, *, redact: bool) -> tuple[str, str]:
        """The legacy and the optimized value as text, each on its own (`12.50`, `12.51`).

        With `redact`, both are [redacted] for a personal difference (a missing side stays
        <missing>), else the values of personal keys inside them are.
        """
        if redact and self.personal:
            return _redacted_side(self.legacy), _redacted_side(self.optimized)
        fields = self.personal_fields if redact else None
        return render_value(self.legacy, personal_fields=fields), render_value(self.optimized, personal_fields=fields)

    def render(self, *, redact: bool) -> str:
        """`[3].avg_cycle_time: 12.50 != 12.51`; ignored ones end with `  (ignored: <reason>)`."""
        legacy, optimized = self.sides(redact=redact)
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
