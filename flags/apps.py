from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    label = "flags"
    verbose_name = "Rollout flags"

    def ready(self) -> None:
        from flags import checks, signals  # noqa: F401  (checks register themselves)

        signals.connect()
