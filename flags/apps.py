from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    label = "flags"
    verbose_name = "Rollout flags"
