from django.apps import AppConfig


class ShadowConfig(AppConfig):
    name = "shadow"
    label = "shadow"
    verbose_name = "Shadow comparisons"

    def ready(self) -> None:
        from shadow import checks, cli, gate, signals  # noqa: F401  (checks register themselves)

        signals.connect()
        gate.connect()
        # `rollout verify`, `rollout shadow` and the evidence columns of `rollout status`.
        cli.register()
