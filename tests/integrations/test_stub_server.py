"""The loopback GitHub stand-in itself: routes, token check, scripted failures, request log."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest

from apps.integrations.github.stub_server import ReceivedRequest, StubGitHubServer, write_recorded_report

DAY = dt.date(2025, 10, 1)
REPORT = "/orgs/acme/copilot/metrics/reports/users-1-day?day=2025-10-01"


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


@pytest.fixture
def stub(tmp_path):
    write_recorded_report(tmp_path, org="acme", day=DAY, records=[{"user_login": "octocat"}], name="b.ndjson")
    write_recorded_report(tmp_path, org="acme", day=DAY, records=[{"user_login": "hubot"}, "not json"], name="a.ndjson")
    with StubGitHubServer(tmp_path, expected_token="ghp_expected") as server:
        yield server


def test_write_recorded_report_writes_one_line_per_record(tmp_path):
    """Dicts become JSON lines (sorted keys); strings are written verbatim."""
    path = write_recorded_report(tmp_path, org="acme", day=DAY, records=[{"b": 1, "a": 2}, "raw line"])

    assert path == tmp_path / "acme" / "2025-10-01" / "report-1.ndjson"
    assert path.read_text() == '{"a": 2, "b": 1}\nraw line\n'


def test_the_report_endpoint_links_every_file_in_name_order(stub):
    """download_links point back at the same server, one per .ndjson file."""
    status, body = get(stub.base_url + REPORT, token="ghp_expected")

    assert status == 200
    assert json.loads(body) == {
        "download_links": [
            f"{stub.base_url}/downloads/acme/2025-10-01/a.ndjson",
            f"{stub.base_url}/downloads/acme/2025-10-01/b.ndjson",
        ],
        "report_day": "2025-10-01",
    }


def test_a_download_returns_the_file_without_a_token(stub):
    """Download links are pre-signed: no Authorization needed."""
    assert get(f"{stub.base_url}/downloads/acme/2025-10-01/a.ndjson") == (200, b'{"user_login": "hubot"}\nnot json\n')


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        (REPORT, None, 401),
        (REPORT, "ghp_wrong", 401),
        ("/orgs/globex/copilot/metrics/reports/users-1-day?day=2025-10-01", "ghp_expected", 404),
        ("/orgs/acme/copilot/metrics/reports/users-1-day?day=2025-10-02", "ghp_expected", 404),
        ("/orgs/acme/copilot/metrics/reports/users-1-day", "ghp_expected", 422),
        ("/orgs/acme/copilot/metrics/reports/users-1-day?day=yesterday", "ghp_expected", 422),
        ("/orgs/..%2F..%2Fetc/copilot/metrics/reports/users-1-day?day=2025-10-01", "ghp_expected", 404),
        ("/downloads/acme/2025-10-01/missing.ndjson", None, 404),
        ("/downloads/acme/2025-10-01/..%2F..%2Fsecret.ndjson", None, 404),
        ("/something/else", None, 404),
    ],
)
def test_errors_for_bad_credentials_unknown_reports_bad_days_and_paths_outside_the_root(stub, path, token, status):
    """401 without the right token; 404 for an unknown org, day, file or a path out of the root; 422 for a bad day."""
    assert get(stub.base_url + path, token=token)[0] == status


def test_scripted_failures_answer_the_next_api_calls_then_stop(stub):
    """fail_next(403, times=2): two 403s, then the real answer."""
    stub.fail_next(403, times=2)

    statuses = [get(stub.base_url + REPORT, token="ghp_expected")[0] for _ in range(3)]

    assert statuses == [403, 403, 200]


def test_every_request_is_recorded_with_whether_it_carried_a_token(stub):
    """The log keeps the endpoint kind, path with query, and the presence (never the value) of Authorization."""
    get(stub.base_url + REPORT, token="ghp_expected")
    get(f"{stub.base_url}/downloads/acme/2025-10-01/a.ndjson")

    assert stub.requests == [
        ReceivedRequest("api", REPORT, has_authorization=True),
        ReceivedRequest("download", "/downloads/acme/2025-10-01/a.ndjson", has_authorization=False),
    ]
