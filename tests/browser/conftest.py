"""Browser tests: a real headless Chromium, driven by Selenium, against pytest-django's live server.

They run in CI's second pass (REDIS_URL set), like the other slow tests, and are skipped without it,
so `make test` on a fresh machine needs no browser. Where they run, a missing chromium or
chromedriver is a failure, not a skip: .ci/run installs both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from selenium import webdriver

from tests.browser.helpers import INSTALL_HINT, missing_browser_tools, start_chromium

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/browser is marked `browser`, and skipped without REDIS_URL."""
    skip = pytest.mark.skip(reason="browser test: CI's second run (with REDIS_URL) runs it")
    for item in items:
        if not item.path.is_relative_to(HERE):
            continue
        item.add_marker(pytest.mark.browser)
        if not settings.REDIS_URL:
            item.add_marker(skip)


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a 1280×900 window and a fresh profile, quit after the test."""
    missing = missing_browser_tools()
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: {INSTALL_HINT}", pytrace=False)
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()
