"""The Copilot sync end to end: real loopback GitHub, real PostgreSQL, the legacy writer."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from apps.integrations.errors import IntegrationError
from apps.integrations.github.copilot_report import CopilotReportError
from apps.integrations.github.stub_server import write_recorded_report
from apps.integrations.services.copilot_sync import CopilotSyncSummary, sync_copilot_metrics
from apps.metrics.models import AIUsageDaily
from tests.factories import AIUsageDailyFactory, GitHubIntegrationFactory, TeamMemberFactory
from tests.integrations.conftest import RECORDED_DAY

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 10, 1)
TOKEN = "ghp_syncsecret0001"


def usage(login: str, shown: int, accepted: int, day: str = "2025-10-01") -> dict:
    return {
        "user_login": login,
        "user_id": 1,
        "day": day,
        "code_generation_activity_count": shown,
        "code_acceptance_activity_count": accepted,
    }


def stored_rows(team) -> list[tuple]:
    """(login, date, source, shown, accepted, rate, active_hours) of the team's usage rows, by login, date, source."""
    return list(
        AIUsageDaily.objects.filter(team=team)
        .order_by("member__github_username", "date", "source")
        .values_list(
            "member__github_username",
            "date",
            "source",
            "suggestions_shown",
            "suggestions_accepted",
            "acceptance_rate",
            "active_hours",
        )
    )


@pytest.fixture
def integration(team, github_stub):
    """The team's GitHub link to org "acme"; the stub only accepts its token."""
    github_stub.expected_token = TOKEN
    return GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)


def test_recorded_report_is_stored_per_member_with_acceptance_rates(team, recorded_stub):
    """The recorded two-file report: four members stored, one login unknown, rates accepted ÷ shown × 100."""
    recorded_stub.expected_token = TOKEN
    GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)
    for login in ["octocat", "hubot", "monalisa", "mona-dev"]:
        TeamMemberFactory(team=team, github_username=login)

    summary = sync_copilot_metrics(team=team, day=RECORDED_DAY)

    assert summary == CopilotSyncSummary(day=DAY, records=5, stored=4, unmatched=1, malformed=0, problems=())
    assert stored_rows(team) == [
        ("hubot", DAY, "copilot", 80, 20, Decimal("25.00"), None),
        ("mona-dev", DAY, "copilot", 64, 71, Decimal("110.94"), None),
        ("monalisa", DAY, "copilot", 0, 0, None, None),
        ("octocat", DAY, "copilot", 120, 45, Decimal("37.50"), None),
    ]


def test_a_clean_report_marks_the_integration_ok(team, integration, report_root):
    """Every record matched and valid: status "ok", no error, last_sync_at set."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])

    summary = sync_copilot_metrics(team=team, day=DAY)

    integration.refresh_from_db()
    assert summary == CopilotSyncSummary(day=DAY, records=1, stored=1, unmatched=0, malformed=0, problems=())
    assert stored_rows(team) == [("octocat", DAY, "copilot", 30, 10, Decimal("33.33"), None)]
    assert (integration.last_sync_status, integration.last_sync_error) == ("ok", "")
    assert integration.last_sync_at is not None


def test_a_rerun_updates_the_rows_without_duplicates(team, integration, report_root):
    """Syncing the same day again replaces the counts of the existing row."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])
    sync_copilot_metrics(team=team, day=DAY)
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 40, 30)])

    sync_copilot_metrics(team=team, day=DAY)

    assert stored_rows(team) == [("octocat", DAY, "copilot", 40, 30, Decimal("75.00"), None)]


def test_an_existing_cursor_row_for_the_same_day_is_left_alone(team, integration, report_root):
    """Only the "copilot" row of the member's day is written."""
    member = TeamMemberFactory(team=team, github_username="octocat")
    AIUsageDailyFactory(
        team=team, member=member, date=DAY, source="cursor", suggestions_shown=5, suggestions_accepted=1
    )
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])

    sync_copilot_metrics(team=team, day=DAY)

    assert stored_rows(team) == [
        ("octocat", DAY, "copilot", 30, 10, Decimal("33.33"), None),
        ("octocat", DAY, "cursor", 5, 1, Decimal("20.00"), None),
    ]


def test_an_unknown_login_is_counted_not_stored_and_not_fatal(team, integration, report_root, caplog):
    """A login that matches no member is skipped, counted, logged as a count only; status "partial"."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(
        report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10), usage("stranger-danger", 5, 5)]
    )
    caplog.set_level(logging.INFO)

    summary = sync_copilot_metrics(team=team, day=DAY)

    integration.refresh_from_db()
    assert (summary.stored, summary.unmatched) == (1, 1)
    assert stored_rows(team) == [("octocat", DAY, "copilot", 30, 10, Decimal("33.33"), None)]
    assert (integration.last_sync_status, integration.last_sync_error) == (
        "partial",
        "1 report logins matched no team member",
    )
    assert "stranger-danger" not in caplog.text


def test_zero_suggestions_store_no_acceptance_rate(team, integration, report_root):
    """Nothing shown: the rate is None, not 0 and not an error."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 0, 0)])

    sync_copilot_metrics(team=team, day=DAY)

    assert stored_rows(team) == [("octocat", DAY, "copilot", 0, 0, None, None)]


def test_matching_is_exact_includes_inactive_members_and_prefers_the_oldest_member(team, integration, report_root):
    """Case-sensitive logins; an inactive member still matches; two members sharing a login → lowest id."""
    first = TeamMemberFactory(team=team, github_username="hubot", is_active=False)
    TeamMemberFactory(team=team, github_username="hubot")
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("hubot", 8, 2), usage("OctoCat", 4, 1)])

    summary = sync_copilot_metrics(team=team, day=DAY)

    assert (summary.stored, summary.unmatched) == (1, 1)
    assert list(AIUsageDaily.objects.filter(team=team).values_list("member_id", "suggestions_shown")) == [(first.id, 8)]


def test_malformed_records_are_logged_skipped_and_the_rest_stored(team, integration, report_root, caplog):
    """A bad count, a missing login and a non-JSON line: three WARNINGs, nothing written for them, status "partial"."""
    for login in ["octocat", "hubot", "monalisa"]:
        TeamMemberFactory(team=team, github_username=login)
    write_recorded_report(
        report_root,
        org="acme",
        day=DAY,
        records=[
            usage("octocat", 30, 10),
            {"user_login": "hubot", "day": "2025-10-01", "code_generation_activity_count": "abc",
             "code_acceptance_activity_count": 1},
            {"day": "2025-10-01", "code_generation_activity_count": 3, "code_acceptance_activity_count": 1},
            '{"user_login": "monalisa", "day": "2025-10-01", "code_gen',
            usage("monalisa", 10, 1),
        ],
    )
    caplog.set_level(logging.WARNING, logger="apps.integrations")

    summary = sync_copilot_metrics(team=team, day=DAY)

    problems = (
        "record 2: code_generation_activity_count must be a non-negative integer, got string",
        "record 3: user_login is missing",
        "record 4: line 4 of file 1 is not valid JSON",
    )
    assert summary == CopilotSyncSummary(day=DAY, records=5, stored=2, unmatched=0, malformed=3, problems=problems)
    assert caplog.record_tuples == [
        (
            "apps.integrations.services.copilot_sync",
            logging.WARNING,
            "Copilot report for team acme (org acme) on 2025-10-01: skipped "
            "record 2: code_generation_activity_count must be a non-negative integer, got string",
        ),
        (
            "apps.integrations.services.copilot_sync",
            logging.WARNING,
            "Copilot report for team acme (org acme) on 2025-10-01: skipped record 3: user_login is missing",
        ),
        (
            "apps.integrations.services.copilot_sync",
            logging.WARNING,
            "Copilot report for team acme (org acme) on 2025-10-01: skipped "
            "record 4: line 4 of file 1 is not valid JSON",
        ),
    ]
    assert stored_rows(team) == [
        ("monalisa", DAY, "copilot", 10, 1, Decimal("10.00"), None),
        ("octocat", DAY, "copilot", 30, 10, Decimal("33.33"), None),
    ]
    integration.refresh_from_db()
    assert integration.last_sync_status == "partial"
    assert integration.last_sync_error == (
        "3 malformed records skipped: "
        "record 2: code_generation_activity_count must be a non-negative integer, got string; "
        "record 3: user_login is missing; "
        "record 4: line 4 of file 1 is not valid JSON"
    )
    assert TOKEN not in caplog.text


def test_a_long_problem_list_is_capped_in_last_sync_error(team, integration, report_root):
    """Hundreds of bad lines do not flood the integration's error field: 1000 characters at most."""
    write_recorded_report(report_root, org="acme", day=DAY, records=["not json"] * 300)

    summary = sync_copilot_metrics(team=team, day=DAY)

    integration.refresh_from_db()
    assert summary.malformed == 300
    assert len(integration.last_sync_error) == 1000
    assert integration.last_sync_error.endswith("…")


@pytest.mark.parametrize("status", [403, 500])
def test_http_failure_beyond_the_attempts_marks_failed_and_writes_nothing(
    team, integration, report_root, github_stub, status
):
    """Every attempt fails: CopilotReportError re-raised, status "failed" with the message, no rows."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])
    github_stub.fail_next(status, times=3)

    with pytest.raises(CopilotReportError):
        sync_copilot_metrics(team=team, day=DAY)

    integration.refresh_from_db()
    assert integration.last_sync_status == "failed"
    assert integration.last_sync_error == (
        f"GitHub Copilot report request for org 'acme' on 2025-10-01 failed: HTTP {status} after 3 attempts"
    )
    assert integration.last_sync_at is not None
    assert AIUsageDaily.objects.filter(team=team).count() == 0


def test_a_failed_rerun_keeps_the_rows_of_the_earlier_sync(team, integration, report_root, github_stub):
    """A fetch failure writes nothing, so the previous day's data stays as it was."""
    TeamMemberFactory(team=team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])
    sync_copilot_metrics(team=team, day=DAY)
    github_stub.fail_next(500, times=3)

    with pytest.raises(CopilotReportError):
        sync_copilot_metrics(team=team, day=DAY)

    assert stored_rows(team) == [("octocat", DAY, "copilot", 30, 10, Decimal("33.33"), None)]


def test_a_team_without_an_integration_is_a_clear_error(team, github_stub):
    """No GitHubIntegration: IntegrationError naming the team, and no request is made."""
    with pytest.raises(IntegrationError) as caught:
        sync_copilot_metrics(team=team, day=DAY)

    assert str(caught.value) == "Team 'acme' has no GitHub integration"
    assert github_stub.requests == []


def test_a_blank_token_marks_the_integration_failed_without_calling_github(team, github_stub):
    """An integration without a token cannot sync; it says so and makes no request."""
    integration = GitHubIntegrationFactory(team=team, org_slug="acme", access_token="")

    with pytest.raises(IntegrationError) as caught:
        sync_copilot_metrics(team=team, day=DAY)

    integration.refresh_from_db()
    assert str(caught.value) == "The GitHub integration of team 'acme' has no access token set"
    assert (integration.last_sync_status, integration.last_sync_error) == ("failed", str(caught.value))
    assert github_stub.requests == []


def test_the_same_login_in_two_teams_only_touches_each_teams_own_member(team, other_team, github_stub, report_root):
    """Each team syncs its own org's report into its own member, even when the login is the same."""
    GitHubIntegrationFactory(team=team, org_slug="acme", access_token="ghp_acme00000001")
    GitHubIntegrationFactory(team=other_team, org_slug="globex", access_token="ghp_globex0000001")
    acme_octocat = TeamMemberFactory(team=team, github_username="octocat")
    globex_octocat = TeamMemberFactory(team=other_team, github_username="octocat")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 10, 1)])
    write_recorded_report(report_root, org="globex", day=DAY, records=[usage("octocat", 20, 10)])

    sync_copilot_metrics(team=team, day=DAY)

    assert list(AIUsageDaily.objects.values_list("team_id", "member_id", "suggestions_shown")) == [
        (team.id, acme_octocat.id, 10)
    ]

    sync_copilot_metrics(team=other_team, day=DAY)

    assert sorted(AIUsageDaily.objects.values_list("team_id", "member_id", "suggestions_shown")) == sorted(
        [(team.id, acme_octocat.id, 10), (other_team.id, globex_octocat.id, 20)]
    )


def test_another_teams_rows_and_integration_are_untouched(team, other_team, integration, report_root):
    """Tenant isolation: syncing one team leaves the other team's usage rows and sync status as they were."""
    TeamMemberFactory(team=team, github_username="octocat")
    theirs = AIUsageDailyFactory(
        team=other_team,
        member=TeamMemberFactory(team=other_team, github_username="octocat"),
        date=DAY,
        suggestions_shown=7,
        suggestions_accepted=7,
    )
    other_integration = GitHubIntegrationFactory(team=other_team, org_slug="globex")
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 30, 10)])

    sync_copilot_metrics(team=team, day=DAY)

    theirs.refresh_from_db()
    other_integration.refresh_from_db()
    assert (theirs.suggestions_shown, theirs.suggestions_accepted, theirs.acceptance_rate) == (7, 7, Decimal("100.00"))
    assert AIUsageDaily.objects.filter(team=other_team).count() == 1
    assert (other_integration.last_sync_status, other_integration.last_sync_at) == ("never", None)
