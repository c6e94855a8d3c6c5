"""flags.is_enabled: the rollout decision for one team, with or without a request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flags import conf
from flags.errors import UnknownFlagError
from flags.registry import ROLLOUT_FLAGS
from flags.store import STORE
from flags.tracking import record_evaluation

if TYPE_CHECKING:
    from apps.teams.models import Team

logger = logging.getLogger(__name__)


def is_enabled(name: str, *, team: Team | None) -> bool:
    """Whether registered rollout flag `name` is on for `team` (views, Celery tasks, shell alike).

    Answered from this process's flag store (flags.store): no SQL query and
    no cache server between version checks, and never older than
    FLAGS_MAX_STALE_SECONDS. An unregistered name raises UnknownFlagError when FLAGS_RAISE_ON_UNKNOWN is
    set (tests), else it is logged and answered "off".
    """
    if name not in ROLLOUT_FLAGS:
        if conf.raise_on_unknown():
            ROLLOUT_FLAGS.get(name)  # raises with the list of valid names
        logger.error("Unknown rollout flag %r evaluated; answering off", name)
        return False
    state = STORE.state(name)
    result = state is not None and state.is_on(getattr(team, "pk", None))
    record_evaluation(name, result)
    return result


__all__ = ["UnknownFlagError", "is_enabled", "record_evaluation"]
