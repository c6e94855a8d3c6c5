"""Log in to a running tformance and save a full-page PNG of one page, with Debian's headless Chromium.

    python scripts/screenshot.py --password PASSWORD --output docs/images/console.png
    python scripts/screenshot.py --base-url http://127.0.0.1:8000 --username admin --password PASSWORD \\
        --path /ops/shadow/ --width 1280 --output docs/images/console.png

`make demo` serves on http://127.0.0.1:8000 and prints the demo login (user admin). Needs
`apt-get install chromium chromium-driver` and selenium (the project's test extra).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 15
MAX_HEIGHT = 4000
FIRST_HEIGHT = 900


def executable(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)
    if found is None:
        sys.exit(f"{name} not found: apt-get install chromium chromium-driver")
    return found


def set_viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """The CSS viewport itself (the window size would include the browser's frame)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    )


def screenshot(
    *, base_url: str, username: str, password: str, path: str, output: Path, width: int, max_height: int = MAX_HEIGHT
) -> int:
    """Save the page at `path` as seen by `username`; returns the screenshot's height in CSS pixels."""
    options = webdriver.ChromeOptions()
    options.binary_location = executable("chromium")
    with tempfile.TemporaryDirectory(prefix="screenshot-profile-") as profile:
        for argument in (
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={width},{FIRST_HEIGHT}", f"--user-data-dir={profile}",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=executable("chromedriver")))
        try:
            set_viewport(driver, width, FIRST_HEIGHT)
            wait = WebDriverWait(driver, WAIT_SECONDS)
            driver.get(f"{base_url}/login/?next={quote(path)}")
            form = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "form[action]")))
            driver.find_element(By.NAME, "username").send_keys(username)
            driver.find_element(By.NAME, "password").send_keys(password)
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait.until(EC.staleness_of(form))
            if driver.find_elements(By.NAME, "password"):
                sys.exit(f"login as {username!r} refused at {base_url}")
            # Open the page itself: the login's redirect may have gone elsewhere.
            driver.get(f"{base_url}{path}")
            wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
            height = min(int(driver.execute_script("return document.body.scrollHeight")), max_height)
            set_viewport(driver, width, height)
            output.parent.mkdir(parents=True, exist_ok=True)
            if not driver.save_screenshot(str(output)):
                sys.exit(f"could not write {output}")
            return height
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--path", default="/ops/shadow/", help="the page to capture (default: the shadow console)")
    parser.add_argument("--output", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--width", type=int, default=1280, help="CSS viewport width in pixels")
    parser.add_argument(
        "--max-height", type=int, default=MAX_HEIGHT, help=f"cut the page at this height (default {MAX_HEIGHT} px)"
    )
    args = parser.parse_args()
    height = screenshot(
        base_url=args.base_url.rstrip("/"), username=args.username, password=args.password,
        path=args.path, output=args.output, width=args.width, max_height=args.max_height,
    )
    print(f"{args.output}: {args.width}×{height} px of {args.base_url.rstrip('/')}{args.path}")


if __name__ == "__main__":
    main()
