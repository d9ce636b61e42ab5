"""A headless Chromium for the UI tests (Debian's chromium and chromium-driver)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.collector.web.ui.browsing import chromium
from tests.helpers import require_tool


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_tool("chromium", "chromium")
    with chromium(require_tool("chromedriver", "chromium-driver")) as driver:
        yield driver
