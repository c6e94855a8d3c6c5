"""An operator takes a team from shadowing to flipped and back in a real browser, reading why at each step:
refused with its reason, forced with a reason, the audit row, the rollback, a mismatch record with both
sides labelled; and no console page scrolls sideways at 1280 or 390 px."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from shadow.models import RolloutPlan
from tests.browser.helpers import WAIT_SECONDS, horizontal_overflow, log_in, overflow_report, set_viewport_width
from tests.factories import DailyEvidenceFactory, ShadowRecordFactory, TeamFactory, UserFactory

PASSWORD = "browser-test-password"
# A registered pair of the product, with its real evidence needs (50 comparisons by default).
PAIR = "metrics.team_breakdown"
SIDES_DIFF = [{
    "path": "[0].avg_cycle_time", "line": "[0].avg_cycle_time: 30.60 != 29.99",
    "redacted": "[0].avg_cycle_time: 30.60 != 29.99", "legacy": "30.60", "optimized": "29.99",
    "legacy_redacted": "30.60", "optimized_redacted": "29.99",
}]


@pytest.fixture
def setting(transactional_db):
    """An operator allowed everything the console offers; acme has 31 clean comparisons and one mismatch record."""
    user = UserFactory(username="operator", is_staff=True, password=PASSWORD)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="shadow", codename__in=["view_evidence", "view_personal"]),
        *Permission.objects.filter(content_type__app_label="flags", codename__in=["change_rollout", "force_rollout"]),
    )
    team = TeamFactory(name="Acme", slug="acme")
    DailyEvidenceFactory(pair_name=PAIR, team=team, runs=31, matches=31)
    # Long figures in every column of another pair, as the demo shows them.
    DailyEvidenceFactory(
        pair_name="metrics.ai_adoption_trend", team=team, runs=5, matches=5, measured_runs=5,
        legacy_ms_histogram=[0] * 17 + [5] + [0] * 7, optimized_ms_histogram=[0] * 17 + [5] + [0] * 7,
        legacy_ms_total=3000.0, optimized_ms_total=600.0, legacy_queries_total=500, optimized_queries_total=5,
    )
    record = ShadowRecordFactory(pair_name=PAIR, team=team, diff=SIDES_DIFF, call_arguments={"limit": 10})
    # A plan for the pair, so its page is among those that must fit.
    RolloutPlan.objects.create(pair_name=PAIR)
    return record


def wait_for(browser: webdriver.Chrome, selector: str) -> WebElement:
    return WebDriverWait(browser, WAIT_SECONDS).until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))


def submit(browser: webdriver.Chrome, *, reason: str, force: bool = False) -> None:
    """Fill the confirmation page's reason (and force box) and confirm; wait for the next page."""
    browser.find_element(By.NAME, "reason").clear()
    browser.find_element(By.NAME, "reason").send_keys(reason)
    if force:
        browser.find_element(By.NAME, "force").click()
    button = browser.find_element(By.ID, "confirm")
    button.click()
    WebDriverWait(browser, WAIT_SECONDS).until(EC.staleness_of(button))


# Tables (and anything else) sticking out of their card: clipped or scrolled inside it, they hide columns.
OUT_OF_CARD = """
const out = [];
for (const card of document.querySelectorAll('.card')) {
  const edge = card.getBoundingClientRect().right + 0.5;
  for (const el of card.querySelectorAll('table, svg, pre, code, form')) {
    if (el.getBoundingClientRect().right > edge) out.push(el.tagName + '.' + el.className + ' in ' + (card.id || card.className));
  }
}
return out;
"""


def assert_fits(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url)
    wait_for(browser, "h1")
    for width in (1280, 390):
        set_viewport_width(browser, width)
        assert horizontal_overflow(browser) <= 0, f"{url} at {width} px: {overflow_report(browser)}"
        assert browser.execute_script(OUT_OF_CARD) == [], f"{url} at {width} px: wider than their card"
    set_viewport_width(browser, 1280)


def test_an_operator_flips_a_team_and_rolls_it_back_from_the_console(browser, live_server, setting):
    log_in(browser, live_server, "operator", PASSWORD)
    browser.get(f"{live_server.url}/ops/shadow/")
    row = wait_for(browser, f'tr[data-pair="{PAIR}"][data-team="acme"]')
    assert row.find_element(By.CSS_SELECTOR, ".state").text == "off"
    assert "not ready" in row.find_element(By.CSS_SELECTOR, ".readiness").text
    assert "31 of 50 comparisons" in row.find_element(By.CSS_SELECTOR, ".readiness").text

    # To the pair × team page, and ask to enable: the gate's refusal is shown before anything is sent.
    row.find_element(By.CSS_SELECTOR, "a.team-link").click()
    wait_for(browser, "#action-enable").click()
    assert "31 of 50 comparisons" in wait_for(browser, "#refusals").text

    # Confirmed without force: refused, with its reason, nothing changed.
    submit(browser, reason="looks fine to me")
    assert "The readiness gate refused: nothing was changed." in wait_for(browser, "#refusals").text

    # Forced, with a reason: on, and the audit row says who, why and what was overridden.
    submit(browser, reason="the board needs it today", force=True)
    assert wait_for(browser, "#state").text == "listed"
    assert "is on for acme" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    newest = browser.find_element(By.CSS_SELECTOR, "#audit tr.audit-entry")
    assert "user:operator" in newest.text
    assert "off → on" in newest.text
    assert "FORCED past readiness gate" in newest.text
    assert "the board needs it today" in newest.text

    # Rolled back: off for this team, audited.
    browser.find_element(By.ID, "action-disable").click()
    submit(browser, reason="p95 worse than legacy")
    assert wait_for(browser, "#state").text == "blocked"
    newest = browser.find_element(By.CSS_SELECTOR, "#audit tr.audit-entry")
    assert "on → off" in newest.text
    assert "p95 worse than legacy" in newest.text

    # The mismatch record: both sides labelled.
    browser.find_element(By.CSS_SELECTOR, f'tr.shadow-record[data-record="{setting.pk}"] a').click()
    headers = [cell.text for cell in wait_for(browser, "#differences table").find_elements(By.TAG_NAME, "th")]
    assert headers == ["FIELD", "LEGACY", "OPTIMIZED"]
    assert browser.find_element(By.CSS_SELECTOR, ".side-a").text == "30.60"
    assert browser.find_element(By.CSS_SELECTOR, ".side-b").text == "29.99"
    assert browser.find_element(By.ID, "arguments").text == "limit=10"
    assert browser.find_element(By.ID, "replay").text == f"python manage.py rollout verify {PAIR} --record {setting.pk}"


def test_no_console_page_scrolls_sideways_at_1280_or_390_px(browser, live_server, setting):
    log_in(browser, live_server, "operator", PASSWORD)
    for path in (
        "/ops/shadow/",
        f"/ops/shadow/pairs/{PAIR}/teams/acme/",
        "/ops/shadow/records/",
        f"/ops/shadow/records/{setting.pk}/",
        f"/ops/shadow/pairs/{PAIR}/teams/acme/enable/",
        f"/ops/shadow/pairs/{PAIR}/plan/",
    ):
        assert_fits(browser, f"{live_server.url}{path}")
