"""Copilot sync tasks, run eagerly: retries, Sentry reporting over real HTTP, fan-out."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from apps.integrations.github.stub_server import write_recorded_report
from apps.integrations.services.copilot_sync import yesterday_utc
from apps.integrations.tasks import sync_all_teams_copilot_metrics_task, sync_copilot_metrics_task
from apps.metrics.models import AIUsageDaily
from tests.factories import GitHubIntegrationFactory, TeamFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 10, 1)
TOKEN = "ghp_tasksecret00000042"


def usage(login: str, shown: int, accepted: int, day: dt.date = DAY) -> dict:
    return {
        "user_login": login,
        "day": day.isoformat(),
        "code_generation_activity_count": shown,
        "code_acceptance_activity_count": accepted,
    }


@pytest.fixture
def integration(team, github_stub):
    github_stub.expected_token = TOKEN
    return GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)


def test_the_task_syncs_the_given_day(team, integration, report_root):
    """The task loads the team by id and stores the report of the ISO day it was given."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])

    result = sync_copilot_metrics_task.delay(team.id, "2025-10-01")

    assert result.get() == {
        "day": "2025-10-01",
        "records": 1,
        "stored": 1,
        "unmatched": 0,
        "malformed": 0,
        "problems": [],
    }
    assert list(AIUsageDaily.objects.filter(team=team).values_list("date", "suggestions_shown")) == [(DAY, 30)]


def test_a_transient_failure_is_retried_by_the_task_and_nothing_reaches_sentry(
    team, integration, report_root, github_stub, sentry_events
):
    """Three 500s exhaust the first run's attempts; the task's retry succeeds, status "ok", no Sentry event."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])
    github_stub.fail_next(500, times=3)

    sync_copilot_metrics_task.delay(team.id, "2025-10-01")

    integration.refresh_from_db()
    assert integration.last_sync_status == "ok"
    assert AIUsageDaily.objects.filter(team=team).count() == 1
    assert [r.kind for r in github_stub.requests] == ["api", "api", "api", "api", "download"]
    assert sentry_events.wait_for_events(0) == []


def test_a_persistent_failure_goes_to_sentry_once_retries_run_out_without_the_token(
    team, integration, report_root, github_stub, sentry_events, caplog
):
    """Persistent 500s: 1 run + 3 retries × 3 attempts, then one Sentry event; the token is nowhere in it."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])
    github_stub.fail_next(500, times=100)
    caplog.set_level(logging.DEBUG)

    sync_copilot_metrics_task.delay(team.id, "2025-10-01")

    events = sentry_events.wait_for_events(1)
    integration.refresh_from_db()
    assert len(events) == 1
    exception = events[0]["exception"]["values"][-1]
    assert exception["type"] == "CopilotReportError"
    assert exception["value"] == (
        "GitHub Copilot report request for org 'acme' on 2025-10-01 failed: HTTP 500 after 3 attempts"
    )
    assert b"HTTP 500 after 3 attempts" in sentry_events.raw_bytes
    assert TOKEN.encode() not in sentry_events.raw_bytes
    assert TOKEN not in caplog.text
    assert len(github_stub.requests) == 12
    assert integration.last_sync_status == "failed"
    assert integration.last_sync_error == exception["value"]
    assert AIUsageDaily.objects.filter(team=team).count() == 0


def test_a_missing_team_is_harmless(db, github_stub, caplog):
    """An id that no longer exists: logged, nothing fetched, no error."""
    caplog.set_level(logging.WARNING)

    result = sync_copilot_metrics_task.delay(987654321)

    assert result.get() is None
    assert github_stub.requests == []
    assert caplog.messages == ["Copilot sync skipped: team 987654321 does not exist"]


def test_a_configuration_error_is_not_retried(team, github_stub):
    """A blank token cannot be fixed by retrying: no request, status "failed", the task ends quietly."""
    integration = GitHubIntegrationFactory(team=team, org_slug="acme", access_token="")

    result = sync_copilot_metrics_task.delay(team.id, "2025-10-01")

    integration.refresh_from_db()
    assert result.get() is None
    assert github_stub.requests == []
    assert integration.last_sync_status == "failed"


def test_fan_out_syncs_yesterday_for_every_team_with_an_org(github_stub, report_root):
    """Every integration with an org slug gets a sync of yesterday (UTC); a blank org and no integration get none."""
    yesterday = yesterday_utc()
    first = GitHubIntegrationFactory(team=TeamFactory(slug="fan-a"), org_slug="org-a")
    second = GitHubIntegrationFactory(team=TeamFactory(slug="fan-b"), org_slug="org-b")
    blank = GitHubIntegrationFactory(team=TeamFactory(slug="fan-c"), org_slug="")
    TeamFactory(slug="fan-d")
    TeamMemberFactory(team=first.team, github_username="octocat")
    TeamMemberFactory(team=second.team, github_username="hubot")
    write_recorded_report(report_root, org="org-a", day=yesterday, records=[usage("octocat", 10, 5, day=yesterday)])
    write_recorded_report(report_root, org="org-b", day=yesterday, records=[usage("hubot", 8, 2, day=yesterday)])

    queued = sync_all_teams_copilot_metrics_task.delay()

    assert queued.get() == 2
    day = yesterday.isoformat()
    assert sorted(r.path for r in github_stub.requests) == [
        f"/downloads/org-a/{day}/report-1.ndjson",
        f"/downloads/org-b/{day}/report-1.ndjson",
        f"/orgs/org-a/copilot/metrics/reports/users-1-day?day={day}",
        f"/orgs/org-b/copilot/metrics/reports/users-1-day?day={day}",
    ]
    assert sorted(AIUsageDaily.objects.values_list("member__github_username", "suggestions_shown")) == [
        ("hubot", 8),
        ("octocat", 10),
    ]
    blank.refresh_from_db()
    first.refresh_from_db()
    assert (first.last_sync_status, blank.last_sync_status) == ("ok", "never")
