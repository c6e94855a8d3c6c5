from django.apps import AppConfig


class ShadowConfig(AppConfig):
    name = "shadow"
    label = "shadow"
    verbose_name = "Shadow comparisons"

    def ready(self) -> None:
        # Imported here: these modules use models, which exist only once Django has loaded every app.
        # autopilot: its beat task registers with Celery on import.
        from shadow import autopilot, checks, cli, dispatch, gate, pairs, signals  # noqa: F401  (checks register themselves)

        pairs.install_dispatcher(dispatch.call_pair)
        signals.connect()
        gate.connect()
        # `rollout verify`, `rollout shadow` and the evidence columns of `rollout status`.
        cli.register()
