"""Celery tasks for metrics: thin wrappers that load by id and call one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from apps.metrics.services.weekly_aggregation import aggregate_team_weekly_metrics, previous_iso_week_start
from apps.teams.models import Team

logger = logging.getLogger(__name__)


def team_today(team: Team) -> dt.date:
    return timezone.now().astimezone(team.tzinfo).date()


@shared_task(
    name="apps.metrics.tasks.aggregate_team_weekly_metrics_task",
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def aggregate_team_weekly_metrics_task(team_id: int, week_start: str | None = None) -> int:
    """Store one team's weekly metrics; returns the number of member rows written.

    week_start is an ISO date ("2026-11-16", a Monday); without it, the week
    before the team's current local week. Beat runs at 01:00 UTC on Monday,
    when teams west of UTC are still in Sunday: taking the week before their
    local one means only finished weeks are ever aggregated (a day later for them). A team deleted since the task was
    queued is skipped with a warning. Database connection errors are retried
    up to three times with backoff; a bad week_start is not retried. The
    written rows move the team's data version, so its cached metrics miss
    after the commit (apps.metrics.cache).
    """
    team = Team.objects.filter(id=team_id).first()
    if team is None:
        logger.warning("Weekly metrics skipped: team %s does not exist", team_id)
        return 0
    week = dt.date.fromisoformat(week_start) if week_start else previous_iso_week_start(team_today(team))
    rows = aggregate_team_weekly_metrics(team=team, week_start=week)
    return len(rows)


@shared_task(
    name="apps.metrics.tasks.aggregate_all_teams_weekly_metrics_task",
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def aggregate_all_teams_weekly_metrics_task() -> int:
    """Queue aggregate_team_weekly_metrics_task for every team (one task each); returns how many were queued."""
    team_ids = list(Team.objects.order_by("id").values_list("id", flat=True))
    for team_id in team_ids:
        aggregate_team_weekly_metrics_task.delay(team_id)
    return len(team_ids)
