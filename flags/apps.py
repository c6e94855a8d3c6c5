from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FlagsConfig(AppConfig):
    name = "flags"
    label = "flags"
    verbose_name = "Rollout flags"

    def ready(self) -> None:
        # Imported here: both use models, which exist only once Django has loaded every app.
        from flags import checks, signals  # noqa: F401  (checks register themselves)

        signals.connect()
        # sender=self: once per migrate (or flush), not once per installed app.
        post_migrate.connect(signals.create_flag_rows, sender=self, dispatch_uid="flags-create-rows")
