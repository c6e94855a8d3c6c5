"""Metrics Celery tasks (run eagerly in tests: no REDIS_URL means CELERY_TASK_ALWAYS_EAGER)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.conf import settings
from django.db import OperationalError

from apps.metrics import tasks
from apps.metrics.models import WeeklyMetrics
from apps.metrics.tasks import aggregate_all_teams_weekly_metrics_task, aggregate_team_weekly_metrics_task
from tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory
from tformance.celery import app

UTC = dt.UTC


@pytest.fixture
def today_is_wednesday_25th(monkeypatch):
    """Pin "today" to Wednesday 2026-11-25, so the previous ISO week starts Monday 2026-11-16."""
    monkeypatch.setattr(tasks, "team_today", lambda team: dt.date(2026, 11, 25))


def test_task_names_and_retry_policy():
    """Names match the beat schedule; connection errors are retried at most three times with backoff."""
    assert aggregate_team_weekly_metrics_task.name == "apps.metrics.tasks.aggregate_team_weekly_metrics_task"
    assert aggregate_all_teams_weekly_metrics_task.name == "apps.metrics.tasks.aggregate_all_teams_weekly_metrics_task"
    assert settings.CELERY_BEAT_SCHEDULE["weekly-metrics-all-teams"]["task"] in app.tasks
    assert aggregate_team_weekly_metrics_task.autoretry_for == (OperationalError,)
    assert aggregate_team_weekly_metrics_task.max_retries == 3
    assert aggregate_team_weekly_metrics_task.retry_backoff is True


@pytest.mark.django_db
def test_delay_with_explicit_week_stores_rows(team):
    """.delay(team_id, "2026-11-16") stores that week's rows for the team's active members."""
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC))

    result = aggregate_team_weekly_metrics_task.delay(team.id, "2026-11-16")

    assert result.get() == 1
    row = WeeklyMetrics.objects.get(team=team, member=member)
    assert (row.week_start, row.prs_merged) == (dt.date(2026, 11, 16), 1)


@pytest.mark.django_db
def test_delay_without_week_uses_previous_iso_week(team, today_is_wednesday_25th):
    """Without week_start the task aggregates the week before the team's current week."""
    member = TeamMemberFactory(team=team)
    PullRequestFactory(team=team, author=member, merged_at=dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC))

    aggregate_team_weekly_metrics_task.delay(team.id)

    assert list(WeeklyMetrics.objects.filter(team=team).values_list("week_start", "prs_merged")) == [
        (dt.date(2026, 11, 16), 1)
    ]


@pytest.mark.django_db
def test_fan_out_covers_every_team(today_is_wednesday_25th):
    """The beat task queues one task per team; each team gets its members' rows for the previous week."""
    first, second, empty = TeamFactory(), TeamFactory(), TeamFactory()
    first_members = TeamMemberFactory.create_batch(2, team=first)
    second_member = TeamMemberFactory(team=second)

    result = aggregate_all_teams_weekly_metrics_task.delay()

    assert result.get() == 3
    assert sorted(WeeklyMetrics.objects.values_list("team_id", "member_id", "week_start")) == [
        (first.id, first_members[0].id, dt.date(2026, 11, 16)),
        (first.id, first_members[1].id, dt.date(2026, 11, 16)),
        (second.id, second_member.id, dt.date(2026, 11, 16)),
    ]
    assert WeeklyMetrics.objects.filter(team=empty).count() == 0


@pytest.mark.django_db
def test_missing_team_is_logged_and_skipped(caplog):
    """A team deleted after queueing: a warning, no error, nothing stored."""
    team = TeamFactory()
    missing_id = team.id
    team.delete()

    with caplog.at_level(logging.WARNING, logger="apps.metrics.tasks"):
        result = aggregate_team_weekly_metrics_task.delay(missing_id, "2026-11-16")

    assert result.get() == 0
    assert WeeklyMetrics.objects.count() == 0
    assert [record.getMessage() for record in caplog.records] == [
        f"Weekly metrics skipped: team {missing_id} does not exist"
    ]


@pytest.mark.django_db
def test_non_monday_week_start_fails(team):
    """A week_start that is not a Monday is a programming error: it raises (and is not retried)."""
    with pytest.raises(ValueError, match="must be a Monday"):
        aggregate_team_weekly_metrics_task.delay(team.id, "2026-11-18")


def test_today_is_the_teams_local_date(monkeypatch):
    """At the Monday 01:00 UTC beat, Los Angeles is still in Sunday and Tokyo already in Monday."""
    beat_time = dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    monkeypatch.setattr(tasks.timezone, "now", lambda: beat_time)
    los_angeles = TeamFactory.build(timezone="America/Los_Angeles")
    tokyo = TeamFactory.build(timezone="Asia/Tokyo")
    assert (tasks.team_today(los_angeles), tasks.team_today(tokyo)) == (dt.date(2026, 11, 22), dt.date(2026, 11, 23))


@pytest.mark.django_db
def test_operational_error_is_retried_three_times_then_raised(team, monkeypatch):
    """A database connection error is retried up to max_retries (three), then the task fails with it.

    With eager propagation off, Celery runs the retries in-process as a worker would and
    records the final failure on the result.
    """
    calls = []

    def failing_service(**kwargs):
        calls.append(kwargs)
        raise OperationalError("connection lost")

    monkeypatch.setattr(tasks, "aggregate_team_weekly_metrics", failing_service)
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    result = aggregate_team_weekly_metrics_task.delay(team.id, "2026-11-16")

    assert len(calls) == 4
    assert result.state == "FAILURE"
    assert isinstance(result.result, OperationalError)
