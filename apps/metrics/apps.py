from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "apps.metrics"
    label = "metrics"

    def ready(self) -> None:
        # Service packages declare their legacy/optimized pairs when imported. Importing them here
        # registers the pairs in every process (commands such as `rollout verify`, workers, web),
        # not only in those that happen to load the views first.
        from apps.metrics.services import dashboard, pr_export, weekly_aggregation  # noqa: F401
