"""The benchmark sizes: how much data, and how long each measurement may take."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TeamShape:
    """One team's generated data: the counts the issue fixes."""

    members: int
    prs: int
    reviews: int
    # Days of PR history; twice the longest dashboard range, so the previous period has data too.
    pr_days: int
    copilot_days: int
    commits_per_pr: int = 1
    # Share of merged PRs that get a survey.
    survey_share: float = 0.5


@dataclass(frozen=True)
class Size:
    """A dataset (the measured team plus noise teams) and the measurement budget for it.

    reps: measured runs per side after the warm-up; a side stops earlier once
    side_budget_s is spent, after at least one run (the runs made are reported).
    export_pairs_days: the pr_export pair row exports only PRs created in the
    last N days (None: all of them), so a per-row legacy side fits the budget;
    the export section always exports every PR.
    """

    name: str
    team: TeamShape
    noise_teams: int
    noise: TeamShape
    reps: int
    side_budget_s: float
    sync_days: int
    shadow_reps: int
    export_pairs_days: int | None = None
    seed: int = 20240601

    @property
    def slug(self) -> str:
        return f"bench-{self.name.lower()}"

    def noise_slug(self, index: int) -> str:
        return f"{self.slug}-noise-{index + 1}"


TINY = Size(
    name="TINY",
    team=TeamShape(members=8, prs=200, reviews=600, pr_days=28, copilot_days=14),
    noise_teams=2,
    noise=TeamShape(members=4, prs=50, reviews=150, pr_days=28, copilot_days=14),
    reps=2,
    side_budget_s=2.0,
    sync_days=14,
    shadow_reps=2,
)

S = Size(
    name="S",
    team=TeamShape(members=50, prs=10_000, reviews=30_000, pr_days=180, copilot_days=90),
    noise_teams=0,
    noise=TeamShape(members=0, prs=0, reviews=0, pr_days=180, copilot_days=0),
    reps=10,
    side_budget_s=10.0,
    sync_days=28,
    shadow_reps=20,
)

L = Size(
    name="L",
    team=TeamShape(members=500, prs=200_000, reviews=600_000, pr_days=180, copilot_days=90),
    noise_teams=20,
    # Each noise team is a mid-sized team: enough rows that a query missing its team filter shows.
    noise=TeamShape(members=50, prs=5_000, reviews=15_000, pr_days=180, copilot_days=90),
    reps=10,
    side_budget_s=15.0,
    sync_days=28,
    shadow_reps=20,
    export_pairs_days=14,
)

SIZES = {size.name: size for size in (TINY, S, L)}
