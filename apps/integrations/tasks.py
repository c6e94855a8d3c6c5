"""Celery tasks for the integrations app: take ids, load, call one service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import sentry_sdk
from celery import shared_task

from apps.integrations.errors import IntegrationError
from apps.integrations.github.copilot_report import CopilotReportError
from apps.integrations.models import GitHubIntegration
from apps.integrations.services.copilot_sync import sync_copilot_metrics, yesterday_utc
from apps.teams.models import Team

logger = logging.getLogger(__name__)

# Task-level retries wait minutes (the client already retried within seconds):
# 1, 2, then 4 minutes.
RETRY_BASE_SECONDS = 60
MAX_RETRIES = 3


@shared_task(bind=True, name="apps.integrations.tasks.sync_copilot_metrics_task", max_retries=MAX_RETRIES)
def sync_copilot_metrics_task(self, team_id: int, day: str | None = None):
    """Sync one team's Copilot usage for `day` (ISO date; default yesterday UTC).

    A missing team is logged and ignored. A report that cannot be fetched is
    retried up to MAX_RETRIES times with growing countdowns; once retries are
    exhausted the error goes to Sentry and the task ends, leaving the
    integration marked "failed" by the service. Configuration errors (no
    integration, blank org or token) are logged and not retried.

    Returns the sync summary as a dict (ISO day), or None when no sync happened.
    """
    team = Team.objects.filter(id=team_id).first()
    if team is None:
        logger.warning("Copilot sync skipped: team %s does not exist", team_id)
        return None
    target_day = dt.date.fromisoformat(day) if day else yesterday_utc()
    try:
        summary = sync_copilot_metrics(team=team, day=target_day)
    except CopilotReportError as exc:
        if self.request.retries < self.max_retries:
            countdown = RETRY_BASE_SECONDS * 2**self.request.retries
            # When run in-process (no broker), a raised Retry would reach the caller under
            # task_eager_propagates; handed back instead, Celery's eager apply() runs the retry at once.
            return self.retry(exc=exc, countdown=countdown, throw=not self.request.is_eager)
        # WARNING, not ERROR: Sentry's logging integration would turn an ERROR into a second event.
        logger.warning(
            "Copilot sync for team %s on %s gave up after %d retries: %s", team.slug, target_day, self.max_retries, exc
        )
        sentry_sdk.capture_exception(exc)
        return None
    except IntegrationError as exc:
        logger.error("Copilot sync for team %s on %s not possible: %s", team.slug, target_day, exc)
        return None
    return dataclasses.asdict(summary) | {"day": summary.day.isoformat(), "problems": list(summary.problems)}


@shared_task(name="apps.integrations.tasks.sync_all_teams_copilot_metrics_task")
def sync_all_teams_copilot_metrics_task() -> int:
    """Queue `sync_copilot_metrics_task` for every team whose GitHub integration names an org; returns how many."""
    team_ids = list(
        GitHubIntegration.objects.exclude(org_slug="").order_by("team_id").values_list("team_id", flat=True)
    )
    for team_id in team_ids:
        sync_copilot_metrics_task.delay(team_id)
    return len(team_ids)
