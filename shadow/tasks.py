"""Deferred comparisons: the request only queued the call; a worker runs both sides."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import connection, transaction

from apps.teams.models import Team
from shadow import codec, pairs
from shadow.judging import compare_isolated
from shadow.reporters import report_comparison

logger = logging.getLogger(__name__)


# Celery ships no type information, so its decorator is untyped.
@shared_task(name="shadow.tasks.compare_deferred_task", ignore_result=True)  # type: ignore[untyped-decorator]
def compare_deferred_task(pair_name: str, team_id: int, arguments: dict[str, Any], served: str) -> str | None:
    """Run both sides of a queued call inside one REPEATABLE READ transaction, then compare and report.

    Both sides read the same snapshot, so rows committed meanwhile by other
    requests cannot make them differ. Inside an outer transaction (tasks run
    in-process without a broker) both sides already share that transaction.
    Returns the outcome, or None when the pair or team no longer exists.
    """
    team = Team.objects.filter(pk=team_id).first()
    if team is None or pair_name not in pairs.names():
        logger.warning("Deferred comparison skipped: pair %s or team %s is gone", pair_name, team_id)
        return None
    pair = pairs.get(pair_name)
    kwargs = {**codec.decode(arguments), "team": team}
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        comparison = compare_isolated(pair, kwargs, served=served)
    # Reported after the snapshot transaction, so concurrent upserts of the evidence row cannot conflict with it.
    report_comparison(pair, comparison)
    return comparison.outcome
