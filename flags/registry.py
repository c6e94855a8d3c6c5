"""Every rollout flag, declared once: name (= the pair it switches), why, owner.

All rollout flags are temporary: each is meant to be removed, with its legacy
side, once every team is on the optimized path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flags.errors import UnknownFlagError


@dataclass(frozen=True)
class RolloutFlag:
    name: str
    description: str
    owner: str
    temporary: bool = True

    @property
    def lifetime(self) -> str:
        return "temporary: remove when the rollout is complete" if self.temporary else "permanent"


class FlagRegistry:
    def __init__(self, flags: list[RolloutFlag]):
        self._flags: dict[str, RolloutFlag] = {}
        for flag in flags:
            self.register(flag)

    def register(self, flag: RolloutFlag) -> RolloutFlag:
        if flag.name in self._flags:
            raise ValueError(f"Rollout flag {flag.name!r} is declared twice")
        self._flags[flag.name] = flag
        return flag

    def unregister(self, name: str) -> None:
        self._flags.pop(name, None)

    @contextmanager
    def temporarily(self, flag: RolloutFlag) -> Iterator[RolloutFlag]:
        """Declare a flag for the duration of a block (test-only pairs)."""
        self.register(flag)
        try:
            yield flag
        finally:
            self.unregister(flag.name)

    def __contains__(self, name: object) -> bool:
        return name in self._flags

    def get(self, name: str) -> RolloutFlag:
        try:
            return self._flags[name]
        except KeyError:
            raise UnknownFlagError(f"Unknown rollout flag {name!r}; registered flags: {', '.join(self.names()) or 'none'}") from None

    def names(self) -> list[str]:
        return sorted(self._flags)

    def all(self) -> list[RolloutFlag]:
        return [self._flags[name] for name in self.names()]


ROLLOUT_FLAGS = FlagRegistry([
    RolloutFlag("metrics.key_metrics", "Key metrics: both periods in one pass, cached per team and range", owner="metrics"),
    RolloutFlag("metrics.team_breakdown", "Team breakdown: grouped queries instead of the per-member loop", owner="metrics"),
    RolloutFlag("metrics.copilot_by_member", "Copilot by member: limit applied in SQL, one query", owner="metrics"),
    RolloutFlag("metrics.reviewer_workload", "Reviewer workload: one grouped query instead of the per-reviewer loop", owner="metrics"),
    RolloutFlag("metrics.cycle_time_trend", "Cycle time trend: every week in one query", owner="metrics"),
    RolloutFlag("metrics.review_time_trend", "Review time trend: every week in one query", owner="metrics"),
    RolloutFlag("metrics.ai_adoption_trend", "AI adoption trend: every week in one query", owner="metrics"),
    RolloutFlag("metrics.pr_size_distribution", "PR sizes: counted per bucket in SQL, one query", owner="metrics"),
    RolloutFlag("metrics.copilot_metrics", "Copilot totals: sums and active members in one query", owner="metrics"),
    RolloutFlag("metrics.recent_prs", "Recent PRs: author joined, one query", owner="metrics"),
    RolloutFlag("metrics.weekly_aggregation", "Weekly metrics: grouped reads and one bulk upsert", owner="metrics"),
    RolloutFlag("metrics.pr_export", "CSV export: author joined, rows streamed in chunks", owner="metrics"),
    RolloutFlag("integrations.copilot_sync", "Copilot sync: one login lookup and one bulk upsert per report", owner="integrations"),
])
