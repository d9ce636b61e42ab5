"""Headless Chromium for the UI tests and bench_ui: started with the flags this
closed network needs, a throw-away profile, and polled until a script answers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Without the background-networking flags Chromium keeps trying hosts it cannot reach.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


@contextmanager
def chromium(driver_path: str = "/usr/bin/chromedriver", *, window: str = "1280,900",
             timeout_s: float = 20) -> Iterator[Any]:
    """A driver for Debian's chromium; quit and its profile removed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--window-size={window}"):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        driver.set_page_load_timeout(timeout_s)
        driver.set_script_timeout(timeout_s)
        try:
            yield driver
        finally:
            driver.quit()


def wait_for(browser: Any, script: str, timeout: float = 15.0) -> Any:
    """The first truthy value ``script`` returns, polled until ``timeout``."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda d: d.execute_script(script))
