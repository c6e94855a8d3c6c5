from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"

    def ready(self) -> None:
        # The Copilot sync pair registers when its package is imported: here, so every process knows it.
        from apps.integrations import checks  # noqa: F401  (registers the GITHUB_* settings check)
        from apps.integrations.services import copilot_sync  # noqa: F401
