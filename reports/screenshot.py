"""Headless-Chromium helpers: look at a rendered matrix page without a desktop.

    python -m reports.screenshot support-matrix.html /tmp/matrix.png
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Flags that keep Chromium offline, quiet and container-friendly.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


@contextlib.contextmanager
def chromium_driver(
    user_data_dir: str | Path | None = None, *, width: int = 1400, height: int = 1000
) -> Iterator[Chrome]:
    """Yield a headless Chrome WebDriver using the system chromium/chromedriver.

    The driver path is always given explicitly so Selenium never runs
    selenium-manager, which would try to download a driver.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with contextlib.ExitStack() as stack:
        if user_data_dir is None:
            user_data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="chromium-profile-"))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in CHROMIUM_ARGS:
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={user_data_dir}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # enables driver.get_log("browser")
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 1400, height: int = 1000) -> Path:
    """Save a PNG of the page at html_path as seen in a width x height window."""
    png_path = Path(png_path)
    with chromium_driver(width=width, height=height) as driver:
        driver.get(Path(html_path).resolve().as_uri())
        driver.save_screenshot(str(png_path))
    return png_path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m reports.screenshot PAGE.html OUT.png")
    print(screenshot(sys.argv[1], sys.argv[2]))
