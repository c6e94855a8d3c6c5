"""The users-1-day report client against a real loopback GitHub server."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from apps.integrations.errors import IntegrationError
from apps.integrations.github.copilot_report import CopilotReportError, InvalidLine, fetch_users_daily_report
from apps.integrations.github.stub_server import ReceivedRequest, StubGitHubServer, write_recorded_report
from tests.integrations.conftest import RECORDED_DAY

TOKEN = "ghp_clientsecret0001"
DAY = dt.date(2025, 10, 1)
API_PATH = "/orgs/acme/copilot/metrics/reports/users-1-day?day=2025-10-01"


def usage(login: str, shown: int, accepted: int) -> dict:
    return {
        "user_login": login,
        "day": "2025-10-01",
        "code_generation_activity_count": shown,
        "code_acceptance_activity_count": accepted,
    }


def test_records_from_every_download_link_are_merged_in_order(recorded_stub):
    """Both recorded files are downloaded; their records come back file by file, line by line."""
    records = fetch_users_daily_report(org="acme", token=TOKEN, day=RECORDED_DAY)

    shown_and_accepted = [
        (r["user_login"], r["code_generation_activity_count"], r["code_acceptance_activity_count"]) for r in records
    ]
    assert shown_and_accepted == [
        ("octocat", 120, 45),
        ("hubot", 80, 20),
        ("monalisa", 0, 0),
        ("mona-dev", 64, 71),
        ("outsider", 30, 6),
    ]


def test_token_goes_to_the_api_but_not_to_the_download_links(recorded_stub):
    """The Authorization header is sent to the API endpoint only; pre-signed downloads get none."""
    recorded_stub.expected_token = TOKEN

    fetch_users_daily_report(org="acme", token=TOKEN, day=RECORDED_DAY)

    assert recorded_stub.requests == [
        ReceivedRequest("api", API_PATH, has_authorization=True),
        ReceivedRequest("download", "/downloads/acme/2025-10-01/report-1.ndjson", has_authorization=False),
        ReceivedRequest("download", "/downloads/acme/2025-10-01/report-2.ndjson", has_authorization=False),
    ]


def test_a_wrong_token_fails_at_once_with_401(recorded_stub):
    """401 is not retried: one request, and the error names the status."""
    recorded_stub.expected_token = "ghp_theexpectedone"

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=RECORDED_DAY)

    assert caught.value.status == 401
    assert caught.value.attempts == 1
    assert len(recorded_stub.requests) == 1


def test_a_500_is_retried_and_the_second_attempt_succeeds(github_stub, report_root):
    """One server error, then the report: the records arrive after two API requests."""
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 10, 4)])
    github_stub.fail_next(500)

    records = fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert records == [usage("octocat", 10, 4)]
    assert [r.kind for r in github_stub.requests] == ["api", "api", "download"]


def test_a_failed_download_is_retried_too(github_stub, report_root):
    """Download links get the same bounded retries as the API endpoint."""
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 10, 4)])
    github_stub.fail_next(503, kind="download", times=2)

    records = fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert records == [usage("octocat", 10, 4)]
    assert [r.kind for r in github_stub.requests] == ["api", "download", "download", "download"]


def test_a_download_that_keeps_failing_is_named_by_position_not_by_its_signed_url(github_stub, report_root):
    """The error for a download says which of the links failed, without the link itself."""
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 10, 4)])
    github_stub.fail_next(500, kind="download", times=3)

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert str(caught.value) == (
        "GitHub Copilot download 1 of 1 for org 'acme' on 2025-10-01 failed: HTTP 500 after 3 attempts"
    )


def test_403_on_every_attempt_raises_with_org_day_status_and_attempts_but_never_the_token(
    github_stub, report_root, caplog
):
    """After GITHUB_MAX_ATTEMPTS 403s the error says so; the token is in no message, repr, arg or log line."""
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 10, 4)])
    github_stub.fail_next(403, times=3)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    error = caught.value
    assert str(error) == "GitHub Copilot report request for org 'acme' on 2025-10-01 failed: HTTP 403 after 3 attempts"
    assert (error.org, error.day, error.status, error.attempts) == ("acme", DAY, 403, 3)
    assert isinstance(error, IntegrationError)
    assert TOKEN not in repr(error)
    assert TOKEN not in repr(error.args)
    assert TOKEN not in caplog.text
    assert len(github_stub.requests) == 3


def test_429_is_retried(github_stub, report_root):
    """Rate limiting (429) counts as transient."""
    write_recorded_report(report_root, org="acme", day=DAY, records=[usage("octocat", 10, 4)])
    github_stub.fail_next(429, times=2)

    assert fetch_users_daily_report(org="acme", token=TOKEN, day=DAY) == [usage("octocat", 10, 4)]


def test_an_unknown_org_fails_at_once_with_404(github_stub):
    """404 is not retried: exactly one request is made."""
    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="nobody", token=TOKEN, day=DAY)

    assert str(caught.value) == (
        "GitHub Copilot report request for org 'nobody' on 2025-10-01 failed: HTTP 404 after 1 attempt"
    )
    assert len(github_stub.requests) == 1


def test_a_body_that_is_not_json_is_a_clear_error(github_stub):
    """An HTML page instead of JSON (a proxy's error page, say) is reported as such."""
    github_stub.respond_next(200, b"<html>Service unavailable</html>", content_type="text/html")

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert str(caught.value) == "GitHub Copilot report for org 'acme' on 2025-10-01: the API response is not valid JSON"


def test_a_body_without_download_links_is_a_clear_error(github_stub):
    """JSON without a download_links list cannot be followed."""
    github_stub.respond_next(200, json.dumps({"report_day": "2025-10-01"}).encode())

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert str(caught.value) == (
        "GitHub Copilot report for org 'acme' on 2025-10-01: the API response has no download_links list"
    )


def test_a_download_link_that_is_not_http_is_refused(github_stub):
    """A link to a local file is never opened."""
    body = json.dumps({"download_links": ["file:///etc/passwd"], "report_day": "2025-10-01"}).encode()
    github_stub.respond_next(200, body)

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert str(caught.value) == (
        "GitHub Copilot report for org 'acme' on 2025-10-01: a download link is not an http(s) URL"
    )


def test_a_line_that_is_not_json_becomes_a_marker_and_the_rest_of_the_file_is_kept(github_stub, report_root):
    """A broken line does not abort its file: it is returned as InvalidLine(file, line), in place."""
    write_recorded_report(
        report_root,
        org="acme",
        day=DAY,
        records=[usage("octocat", 10, 4), '{"user_login": "hubot", "day": ', usage("monalisa", 6, 3)],
    )

    records = fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert records == [usage("octocat", 10, 4), InvalidLine(file_number=1, line_number=2), usage("monalisa", 6, 3)]


def test_a_refused_connection_is_retried_then_reported(github_settings, report_root):
    """Nothing listening: every attempt fails to connect, and the error says so with the attempt count."""
    with StubGitHubServer(report_root) as stub:
        github_settings.GITHUB_API_URL = stub.base_url
    # The server is closed now, so its port refuses connections.

    with pytest.raises(CopilotReportError) as caught:
        fetch_users_daily_report(org="acme", token=TOKEN, day=DAY)

    assert str(caught.value) == (
        "GitHub Copilot report request for org 'acme' on 2025-10-01 failed: "
        "connection error (ConnectionRefusedError) after 3 attempts"
    )
    assert caught.value.status is None
