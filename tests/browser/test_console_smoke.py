"""The staff console in a real browser: log in through the form, open /ops/shadow/, and check it fits the screen."""

from __future__ import annotations

import urllib.request

import pytest
from django.contrib.auth.models import Permission
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.helpers import (
    WAIT_SECONDS,
    elements_past_right_edge,
    horizontal_overflow,
    log_in,
    overflow_report,
    set_viewport_width,
)
from tests.factories import MembershipFactory, TeamFactory, UserFactory

CONSOLE = "/ops/shadow/"
PASSWORD = "browser-test-password"


@pytest.fixture
def operator(transactional_db):
    """Staff with shadow.view_evidence (not a superuser), a member of one team."""
    user = UserFactory(username="operator", is_staff=True, password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="shadow", codename="view_evidence"))
    MembershipFactory(user=user, team=TeamFactory(name="Acme", slug="acme"))
    return user


def open_console(browser: webdriver.Chrome, live_server) -> None:
    browser.get(f"{live_server.url}{CONSOLE}")
    WebDriverWait(browser, WAIT_SECONDS).until(EC.presence_of_element_located((By.TAG_NAME, "h1")))


def test_staff_log_in_and_see_the_console_with_its_styles(browser, live_server, operator):
    log_in(browser, live_server, "operator", PASSWORD)
    open_console(browser, live_server)

    assert browser.find_element(By.TAG_NAME, "h1").text == "Shadow console"
    assert "Acme" in browser.find_element(By.TAG_NAME, "main").text, "the team is not on the console"
    # The base template's styles apply (its --bg background), not the browser's plain white.
    assert browser.execute_script("return getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_console_does_not_scroll_sideways(browser, live_server, operator, width):
    log_in(browser, live_server, "operator", PASSWORD)
    open_console(browser, live_server)
    set_viewport_width(browser, width)

    assert horizontal_overflow(browser) <= 0, overflow_report(browser)


def test_a_logged_in_user_who_is_not_staff_gets_the_403_page(browser, live_server, transactional_db):
    member = UserFactory(username="member", password=PASSWORD)
    MembershipFactory(user=member, team=TeamFactory(name="Acme", slug="acme"))

    log_in(browser, live_server, "member", PASSWORD)
    open_console(browser, live_server)

    assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    assert "Shadow console" not in browser.page_source


def test_the_live_server_serves_static_files(live_server):
    """Static files come from the apps (StaticFilesHandler), with no collectstatic before the tests."""
    with urllib.request.urlopen(f"{live_server.url}/static/admin/css/base.css", timeout=WAIT_SECONDS) as response:
        assert response.status == 200
        assert "text/css" in response.headers["Content-Type"]


def test_the_overflow_helpers_see_a_page_that_scrolls_sideways(browser):
    """The measure itself: a 600 px block in a 390 px viewport overflows by 210 px and is named."""
    browser.get("data:text/html,<!DOCTYPE html><body style='margin:0'><p>fits</p><div id=wide style='width:600px'>x</div></body>")
    set_viewport_width(browser, 390)

    assert horizontal_overflow(browser) == 210
    assert [item["element"] for item in elements_past_right_edge(browser)] == ["div#wide"]
