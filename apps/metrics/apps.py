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

        register_team_data(TeamData(shapes=_data_shapes, generate=_generated_teams))


# Imported on call: the synthetic module loads hypothesis, which web processes never need.
def _data_shapes(team: Any) -> dict[str, bool]:
    from apps.metrics.synthetic import data_shapes

    return data_shapes(team)


def _generated_teams(count: int, visit: Callable[[Any], None]) -> int:
    from apps.metrics.synthetic import explore_generated_teams

    return explore_generated_teams(count, lambda team, _spec: visit(team))
