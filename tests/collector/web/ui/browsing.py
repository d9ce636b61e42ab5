"""Waiting on the page: poll a script until it answers something truthy."""

from __future__ import annotations

from typing import Any


def wait_for(browser: Any, script: str, timeout: float = 15.0) -> Any:
    """The first truthy value ``script`` returns, polled until ``timeout``."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda d: d.execute_script(script))
