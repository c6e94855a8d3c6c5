"""Dashboard services: the names views and tasks import.

Import dashboard functions from here, never from legacy.py or optimized.py
directly. For now every name is the legacy implementation. As optimized twins
are added (get_key_metrics, get_team_breakdown, get_copilot_by_member), the
rollout wraps those names here as legacy/optimized pairs, so callers keep the
same import and keyword-only signature while a per-team flag picks the side.
"""

from apps.metrics.services.dashboard.legacy import (
    get_ai_adoption_trend,
    get_copilot_by_member,
    get_copilot_metrics,
    get_cycle_time_trend,
    get_key_metrics,
    get_pr_size_distribution,
    get_recent_prs,
    get_review_time_trend,
    get_reviewer_workload,
    get_team_breakdown,
)

__all__ = [
    "get_ai_adoption_trend",
    "get_copilot_by_member",
    "get_copilot_metrics",
    "get_cycle_time_trend",
    "get_key_metrics",
    "get_pr_size_distribution",
    "get_recent_prs",
    "get_review_time_trend",
    "get_reviewer_workload",
    "get_team_breakdown",
]
