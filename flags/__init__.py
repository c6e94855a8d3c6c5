"""Per-team rollout flags on top of django-waffle. Entry point: flags.is_enabled(name, team=…)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.teams.models import Team


def is_enabled(name: str, *, team: Team | None) -> bool:
    # Imported on call: this package is imported before Django's app registry is ready.
    from flags.evaluation import is_enabled as evaluate

    return evaluate(name, team=team)
