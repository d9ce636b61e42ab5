"""The web UI in a real headless Chromium: it queries, graphs, and escapes what it shows."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from metricslib.collector.web.api.v1 import PrometheusAPI, Response
from metricslib.collector.web.server import Routes, serve
from tests.collector.fakes import CannedResult, sample_querier, simple_selector
from tests.helpers import require_tool

pytestmark = pytest.mark.integration

EVIL = '<img src=x onerror="window.__pwned=1">'


class EvilEngine:
    def instant_query(self, query: str, t_ms: int) -> CannedResult:
        if query == "broken(":
            from metricslib.errors import PromQLParseError

            raise PromQLParseError(f'1:8: parse error: unexpected end of input {EVIL}', 7)
        metric = {"__name__": "requests_total", "path": EVIL}
        return CannedResult({"resultType": "vector", "result": [{"metric": metric, "value": [t_ms / 1000, "42"]}]})

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> CannedResult:
        values = [[t / 1000, str(t % 7)] for t in range(start_ms, end_ms + 1, step_ms)]
        result: list[dict[str, Any]] = [
            {"metric": {"__name__": "a", "instance": f"replica-{i}", "note": EVIL}, "values": values}
            for i in range(3)
        ]
        return CannedResult({"resultType": "matrix", "result": result})


class EvilCollector:
    config_text = f"# {EVIL}\nglobal: {{}}\n"

    def targets(self, state: str = "any") -> dict[str, object]:
        target = {
            "scrapePool": "web", "scrapeUrl": "http://127.0.0.1:1/metrics", "health": "down",
            "labels": {"job": "web", "instance": EVIL}, "lastError": EVIL,
            "lastScrape": "2026-11-22T00:00:00Z", "lastScrapeDuration": 0.01,
        }
        return {"activeTargets": [target], "droppedTargets": []}

    def metadata(self, metric: str | None = None, limit: int | None = None) -> dict[str, list[dict[str, str]]]:
        return {}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    api = PrometheusAPI(
        engine_factory=lambda t: EvilEngine(),
        querier_factory=sample_querier,
        parse_selector=simple_selector,
        collector=EvilCollector(),
        build_info={"version": "2.42.0"},
    )
    routes = Routes(api=api, federate=lambda r: Response(404, b""), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda a: Response(200, b""))
    httpd, _ = serve("127.0.0.1", 0, routes)
    host, port = httpd.server_address[:2]
    yield f"http://{host}:{port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_tool("chromium", "chromium")
    driver_path = require_tool("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        driver.set_page_load_timeout(20)
        try:
            yield driver
        finally:
            driver.quit()


def wait_for(browser: Any, script: str, timeout: float = 10.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda d: d.execute_script(script))


def test_table_shows_results_with_labels_escaped(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/graph?expr=requests_total&tab=table")
    text = wait_for(browser, "const t = document.getElementById('result-table'); return t && t.innerText;")
    assert 'path="<img src=x onerror=\\"window.__pwned=1\\">"' in text
    assert "42" in text
    assert browser.execute_script("return document.querySelectorAll('#table-view img').length") == 0
    assert browser.execute_script("return window.__pwned === undefined")


def test_graph_draws_one_line_per_series_with_a_legend(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/graph?expr=a&tab=graph&range=15m")
    count = wait_for(browser, "return document.querySelectorAll('#chart path.line').length")
    assert count == 3
    legend = browser.execute_script("return document.getElementById('legend').innerText")
    assert 'instance="replica-0"' in legend and "<img" in legend
    assert browser.execute_script("return document.querySelectorAll('#legend img').length") == 0
    browser.save_screenshot(str(tempfile.gettempdir() + "/metricslib-ui-graph.png"))


def test_query_errors_are_shown_as_text(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/graph?expr=broken(&tab=table")
    error = wait_for(browser, "const e = document.getElementById('error'); return !e.hidden && e.innerText;")
    assert error.startswith("bad_data: 1:8: parse error") and EVIL in error
    assert browser.execute_script("return document.querySelectorAll('#error img').length") == 0


def test_targets_and_status_pages_escape_everything(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/targets")
    text = wait_for(browser, "return document.querySelector('#targets table') && document.getElementById('targets').innerText")
    assert "web (0/1 up)" in text and EVIL in text
    browser.get(f"{base_url}/status")
    config = wait_for(browser, "return document.getElementById('config').innerText")
    assert EVIL in config
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return window.__pwned === undefined")


def test_ui_works_under_a_route_prefix(browser: Any) -> None:
    api = PrometheusAPI(engine_factory=lambda t: EvilEngine(), querier_factory=sample_querier,
                        parse_selector=simple_selector, collector=EvilCollector(), build_info={"version": "2.42.0"})
    routes = Routes(api=api, federate=lambda r: Response(404, b""), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda a: Response(200, b""), route_prefix="/prom")
    httpd, _ = serve("127.0.0.1", 0, routes)
    try:
        host, port = httpd.server_address[:2]
        browser.get(f"http://{host}:{port}/prom/graph?expr=requests_total&tab=table")
        text = wait_for(browser, "const t = document.getElementById('result-table'); return t && t.innerText;")
        assert "42" in text
        assert browser.execute_script("return location.pathname") == "/prom/graph"
        links = browser.execute_script("return [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))")
        assert links == ["/prom/graph", "/prom/targets", "/prom/status"]
        assert browser.execute_script("return document.styleSheets[0].cssRules.length") > 0  # CSS loaded
    finally:
        httpd.shutdown()
        httpd.server_close()
