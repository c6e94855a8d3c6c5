"""`sync_copilot` and `serve_github_stub` management commands against the loopback GitHub."""

from __future__ import annotations

import _thread
import io
import json
import re
import threading
import time
import urllib.request

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.integrations.github.stub_server import write_recorded_report
from apps.metrics.models import AIUsageDaily
from tests.factories import GitHubIntegrationFactory, TeamFactory, TeamMemberFactory
from tests.integrations.conftest import RECORDED_DAY, RECORDED_REPORTS

TOKEN = "ghp_commandsecret00009"


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("sync_copilot", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.mark.django_db
def test_sync_copilot_prints_the_summary_of_the_team(team, recorded_stub):
    """One team and day: one summary line with the counts and status."""
    GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)
    for login in ["octocat", "hubot", "monalisa", "mona-dev"]:
        TeamMemberFactory(team=team, github_username=login)

    stdout, stderr = run("--team", "acme", "--day", "2025-10-01")

    assert stdout == "acme 2025-10-01: partial: 5 records, 4 stored, 1 unmatched, 0 malformed\n"
    assert stderr == ""
    assert AIUsageDaily.objects.filter(team=team, date=RECORDED_DAY).count() == 4


@pytest.mark.django_db
def test_sync_copilot_without_a_team_syncs_every_integrated_team_and_lists_skipped_records(github_stub, report_root):
    """Default: every team with an org, in slug order; skipped records are listed under their team."""
    alpha = GitHubIntegrationFactory(team=TeamFactory(slug="alpha"), org_slug="org-alpha")
    beta = GitHubIntegrationFactory(team=TeamFactory(slug="beta"), org_slug="org-beta")
    GitHubIntegrationFactory(team=TeamFactory(slug="gamma"), org_slug="")
    TeamMemberFactory(team=alpha.team, github_username="octocat")
    TeamMemberFactory(team=beta.team, github_username="hubot")
    record = {"day": "2025-10-01", "code_generation_activity_count": 4, "code_acceptance_activity_count": 1}
    write_recorded_report(report_root, org="org-alpha", day=RECORDED_DAY, records=[{**record, "user_login": "octocat"}])
    write_recorded_report(
        report_root, org="org-beta", day=RECORDED_DAY, records=[{**record, "user_login": "hubot"}, "oops"]
    )

    stdout, _ = run("--day", "2025-10-01")

    assert stdout == (
        "alpha 2025-10-01: ok: 1 records, 1 stored, 0 unmatched, 0 malformed\n"
        "beta 2025-10-01: partial: 2 records, 1 stored, 0 unmatched, 1 malformed\n"
        "  skipped record 2: line 2 of file 1 is not valid JSON\n"
    )


@pytest.mark.django_db
def test_sync_copilot_exits_1_when_a_team_fails_and_keeps_the_token_out(team, other_team, github_stub, report_root):
    """One team's GitHub keeps failing: its error goes to stderr, the other team still syncs, exit status 1."""
    GitHubIntegrationFactory(team=team, org_slug="acme", access_token=TOKEN)
    GitHubIntegrationFactory(team=other_team, org_slug="globex")
    TeamMemberFactory(team=other_team, github_username="octocat")
    write_recorded_report(
        report_root,
        org="globex",
        day=RECORDED_DAY,
        records=[{"user_login": "octocat", "day": "2025-10-01", "code_generation_activity_count": 4,
                  "code_acceptance_activity_count": 1}],
    )
    github_stub.fail_next(500, times=3)
    stdout, stderr = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("sync_copilot", "--day", "2025-10-01", stdout=stdout, stderr=stderr)

    assert caught.value.returncode == 1
    assert str(caught.value) == "Copilot sync failed for 1 of 2 teams: acme"
    assert stderr.getvalue() == (
        "acme 2025-10-01: failed: GitHub Copilot report request for org 'acme' on 2025-10-01 failed: "
        "HTTP 500 after 3 attempts\n"
    )
    assert stdout.getvalue() == "globex 2025-10-01: ok: 1 records, 1 stored, 0 unmatched, 0 malformed\n"
    assert TOKEN not in stderr.getvalue() + stdout.getvalue()


@pytest.mark.django_db
def test_sync_copilot_rejects_an_unknown_team_and_a_bad_day(team):
    """Argument mistakes are command errors, before anything is fetched."""
    with pytest.raises(CommandError, match="No team with slug 'nope'"):
        run("--team", "nope")
    with pytest.raises(CommandError, match=r"--day must be a date in YYYY-MM-DD format, got '1 Oct'"):
        run("--team", "acme", "--day", "1 Oct")


def test_serve_github_stub_serves_the_recorded_reports_until_interrupted():
    """The demo server answers the report endpoint from the recorded files and stops on Ctrl-C."""
    stdout = io.StringIO()
    seen: dict = {}
    command_done = threading.Event()

    def client() -> None:
        # Beside the foreground command: query it, then end it with a simulated Ctrl-C,
        # unless the command already ended on its own (the interrupt would hit the test runner).
        try:
            deadline = time.monotonic() + 10
            while "export GITHUB_API_URL=" not in stdout.getvalue() and not command_done.is_set():
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)
            base_url = re.search(r"export GITHUB_API_URL=(\S+)", stdout.getvalue())[1]
            request = urllib.request.Request(f"{base_url}/orgs/acme/copilot/metrics/reports/users-1-day?day=2025-10-01")
            with urllib.request.urlopen(request, timeout=5) as response:
                seen["body"] = json.loads(response.read())
                seen["base_url"] = base_url
        finally:
            if not command_done.is_set():
                _thread.interrupt_main()

    thread = threading.Thread(target=client)
    thread.start()
    try:
        call_command("serve_github_stub", "--root", str(RECORDED_REPORTS), "--port", "0", stdout=stdout)
    finally:
        command_done.set()
        thread.join()

    assert seen["body"] == {
        "download_links": [
            f"{seen['base_url']}/downloads/acme/2025-10-01/report-1.ndjson",
            f"{seen['base_url']}/downloads/acme/2025-10-01/report-2.ndjson",
        ],
        "report_day": "2025-10-01",
    }
    assert stdout.getvalue().endswith("Press Ctrl-C to stop.\nStopped.\n")
