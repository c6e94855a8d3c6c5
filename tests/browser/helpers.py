"""Helpers for the browser tests: start headless Chromium, set the CSS viewport, measure sideways overflow, log in."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WINDOW_WIDTH = 1280
WINDOW_HEIGHT = 900
WAIT_SECONDS = 10
INSTALL_HINT = (
    "install Debian's chromium and chromium-driver: apt-get update && "
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver"
)


def find_executable(name: str) -> str | None:
    """`name` on PATH, else Debian's /usr/bin/`name`, else None."""
    found = shutil.which(name)
    if found:
        return found
    fallback = Path("/usr/bin") / name
    return str(fallback) if fallback.is_file() else None


def missing_browser_tools() -> list[str]:
    return [name for name in ("chromium", "chromedriver") if find_executable(name) is None]


def start_chromium(user_data_dir: Path, *, width: int = WINDOW_WIDTH, height: int = WINDOW_HEIGHT) -> webdriver.Chrome:
    """A headless Chromium driven through Debian's chromedriver.

    Both paths are given explicitly, so Selenium never tries to download a browser or driver of its own
    (this machine reaches no download site).
    """
    chromium, chromedriver = find_executable("chromium"), find_executable("chromedriver")
    if chromium is None or chromedriver is None:
        raise RuntimeError(f"chromium or chromedriver not found: {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        # Root in CI: Chromium's sandbox refuses to start as root.
        "--no-sandbox",
        # /dev/shm is small in containers; Chromium crashes on large pages when it fills up.
        "--disable-dev-shm-usage",
        "--disable-gpu",
        # Scrollbars over the page, as on a phone: no gutter, so window.innerWidth is the layout width.
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--user-data-dir={user_data_dir}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(30)
    return driver


def set_viewport_width(driver: ChromiumDriver, width: int, *, height: int = WINDOW_HEIGHT, mobile: bool = False) -> None:
    """Make the page's CSS viewport (window.innerWidth) exactly `width` pixels wide.

    The window size includes the browser's frame, so it is not the viewport: the device metrics are
    overridden instead. `mobile` off by default: a mobile viewport zooms out to fit wide content,
    which would hide the very overflow the tests look for.
    """
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.execute_script("return window.innerWidth") == width,
        message=f"window.innerWidth did not become {width}",
    )


def horizontal_overflow(driver: WebDriver) -> int:
    """How many CSS pixels the page is wider than the viewport: above 0, it scrolls sideways."""
    return int(driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth"))


# The outermost elements whose right edge is past the viewport, leaving out those clipped by a
# scrolling or hidden-overflow ancestor that itself fits (a wide table in .table-wrap scrolls inside it).
_ELEMENTS_PAST_RIGHT_EDGE = """
const limit = window.innerWidth;
const describe = (el) => {
  let name = el.tagName.toLowerCase();
  if (el.id) name += '#' + el.id;
  for (const c of el.classList) name += '.' + c;
  const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  return {element: name, right: Math.round(el.getBoundingClientRect().right), text: text};
};
const sticksOut = (el) => el.getBoundingClientRect().right > limit + 0.5;
const clipped = (el) => {
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible' && !sticksOut(a)) return true;
  }
  return false;
};
const found = [];
for (const el of document.body.querySelectorAll('*')) {
  if (!sticksOut(el) || clipped(el)) continue;
  const parent = el.parentElement;
  if (parent && parent !== document.body && sticksOut(parent) && !clipped(parent)) continue;
  found.push(describe(el));
}
return found;
"""


def elements_past_right_edge(driver: WebDriver, *, limit: int = 10) -> list[dict[str, Any]]:
    """The outermost elements sticking out past the viewport's right edge: {element, right, text}."""
    found: list[dict[str, Any]] = driver.execute_script(_ELEMENTS_PAST_RIGHT_EDGE)
    return found[:limit]


def overflow_report(driver: WebDriver) -> str:
    """A readable line for an assertion message: the overflow in pixels and what sticks out."""
    width = driver.execute_script("return window.innerWidth")
    lines = [f"page is {horizontal_overflow(driver)} px wider than the {width} px viewport; sticking out:"]
    lines += [f"  {item['element']} (right edge {item['right']} px) {item['text']!r}" for item in elements_past_right_edge(driver)]
    return "\n".join(lines)


def log_in(driver: WebDriver, live_server: Any, username: str, password: str) -> None:
    """Log in through the site's login form (templates/registration/login.html) and wait until it is gone.

    `live_server` is pytest-django's live server or a base URL. Fails with the form's error if the
    login is refused.
    """
    from django.urls import reverse

    base = getattr(live_server, "url", live_server)
    driver.get(f"{str(base).rstrip('/')}{reverse('login')}")
    form = WebDriverWait(driver, WAIT_SECONDS).until(EC.presence_of_element_located((By.CSS_SELECTOR, "form[action]")))
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(EC.staleness_of(form), message="the login form was not submitted")
    if driver.find_elements(By.NAME, "password"):
        alerts = " ".join(alert.text for alert in driver.find_elements(By.CSS_SELECTOR, ".alert"))
        raise AssertionError(f"login as {username!r} refused: {alerts or driver.title}")
