"""A deferred test pair that both the test process and a real Celery worker process can load.

The worker imports this module (`celery worker --include tests.shadow.pairs`)
with TFORMANCE_TEST_PAIRS=1 in its environment, which registers the pair and
its rollout flag at import time. The test process imports it without that
variable and declares the same pair through the `make_pair` fixture, so
nothing here leaks into other tests.
"""

from __future__ import annotations

import datetime as dt
import os

from apps.metrics.models import TeamMember

NAME = "test.deferred_member_count"


def legacy_member_count(*, team, joined_before: dt.date) -> dict:
    """Members who joined before the date, counted in Python."""
    members = TeamMember.objects.filter(team=team)
    return {"members": len([member for member in members if member.created_at.date() < joined_before])}


def optimized_member_count(*, team, joined_before: dt.date) -> dict:
    """The same count in SQL."""
    return {"members": TeamMember.objects.filter(team=team, created_at__date__lt=joined_before).count()}


def register() -> None:
    from flags.registry import ROLLOUT_FLAGS, RolloutFlag
    from shadow import pairs as registry

    ROLLOUT_FLAGS.register(RolloutFlag(NAME, "Test-only deferred pair", owner="tests"))
    registry.pair(NAME, legacy=legacy_member_count, optimized=optimized_member_count, deferred=True)


if os.environ.get("TFORMANCE_TEST_PAIRS") == "1":
    register()
