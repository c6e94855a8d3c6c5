from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    label = "flags"
    verbose_name = "Rollout flags"

    def ready(self) -> None:
        # Imported here: both use models, which exist only once Django has loaded every app.
        from flags import checks, signals  # noqa: F401  (checks register themselves)

        signals.connect()
