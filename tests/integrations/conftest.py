from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from apps.integrations.github.stub_server import StubGitHubServer

RECORDED_REPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "copilot"
# The day of the recorded reports in tests/fixtures/copilot/acme/.
RECORDED_DAY = dt.date(2025, 10, 1)


@pytest.fixture
def github_settings(settings):
    """Client settings for tests: three attempts, no sleeping between them, a short timeout."""
    settings.GITHUB_MAX_ATTEMPTS = 3
    settings.GITHUB_RETRY_BACKOFF = 0
    settings.GITHUB_HTTP_TIMEOUT = 5.0
    return settings


@pytest.fixture
def report_root(tmp_path) -> Path:
    root = tmp_path / "reports"
    root.mkdir()
    return root


@pytest.fixture
def github_stub(report_root, github_settings):
    """A loopback GitHub serving reports written into `report_root`; GITHUB_API_URL points at it."""
    with StubGitHubServer(report_root) as stub:
        github_settings.GITHUB_API_URL = stub.base_url
        yield stub


@pytest.fixture
def recorded_stub(github_settings):
    """A loopback GitHub serving the recorded reports in tests/fixtures/copilot (org "acme", 2025-10-01)."""
    with StubGitHubServer(RECORDED_REPORTS) as stub:
        github_settings.GITHUB_API_URL = stub.base_url
        yield stub
