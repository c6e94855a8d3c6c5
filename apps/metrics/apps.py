from collections.abc import Callable
from typing import Any

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "apps.metrics"
    label = "metrics"

    def ready(self) -> None:
        # Service packages declare their legacy/optimized pairs when imported. Importing them here
        # registers the pairs in every process (commands such as `rollout verify`, workers, web),
        # not only in those that happen to load the views first.
        from apps.metrics.services import dashboard, pr_export, weekly_aggregation  # noqa: F401
        from shadow import TeamData, register_team_data

        register_team_data(TeamData(shapes=_data_shapes, generate=_generated_teams, sizes=_team_sizes))


# Imported on call: the synthetic module loads hypothesis, which web processes never need.
def _data_shapes(team: Any) -> dict[str, bool]:
    from apps.metrics.synthetic import data_shapes

    return data_shapes(team)


def _generated_teams(count: int, visit: Callable[[Any], None]) -> int:
    from apps.metrics.synthetic import explore_generated_teams

    return explore_generated_teams(count, lambda team, _spec: visit(team))


def _team_sizes(team_ids: list[int]) -> dict[int, int]:
    """Pull requests per team: how much data a flip puts at stake (one query)."""
    from django.db.models import Count

    from apps.metrics.models import PullRequest

    counts = PullRequest.objects.filter(team_id__in=team_ids).values_list("team_id").annotate(count=Count("id")).order_by()
    return dict.fromkeys(team_ids, 0) | dict(counts)
