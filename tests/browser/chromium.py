"""Headless Debian Chromium for the browser tests (the widget and the review page)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402


@contextlib.contextmanager
def headless_chromium(width: int, height: int) -> Iterator[WebDriver]:
    """A headless Chromium with a throw-away profile, quit and removed afterwards.

    Fails the test (not skips it) when Chromium or ChromeDriver is missing: `make
    browser-deps` installs them.
    """
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail(
            "install chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    profile = tempfile.mkdtemp(prefix="neurobot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: WebDriver, name: str) -> None:
    """Save a screenshot to tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))
