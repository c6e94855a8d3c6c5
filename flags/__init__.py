"""Per-team rollout flags on top of django-waffle. Entry point: flags.is_enabled(name, team=…)."""


def is_enabled(name: str, *, team) -> bool:
    # Imported on call: this package is imported before Django's app registry is ready.
    from flags.evaluation import is_enabled as evaluate

    return evaluate(name, team=team)
