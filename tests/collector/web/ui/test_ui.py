"""The web UI against canned answers: it escapes everything it shows and draws large results.

A fake engine answers with label values that carry HTML; every page must show
them as text and run no script. A second engine returns 2,000 series of 1,000
points, which the graph must draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from metricslib.collector.web.api.v1 import PrometheusAPI, Response
from metricslib.collector.web.server import Routes, serve
from tests.collector.fakes import CannedResult, sample_querier, simple_selector
from tests.collector.web.ui.browsing import wait_for

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
        steps = range(start_ms, end_ms + 1, step_ms)
        if query == "wide":
            result: list[dict[str, Any]] = [
                {"metric": {"__name__": "w", "i": str(i)}, "values": [[t / 1000, str(i + (t // step_ms) % 5)] for t in steps]}
                for i in range(2000)
            ]
            return CannedResult({"resultType": "matrix", "result": result})
        values = [[t / 1000, str(t % 7)] for t in steps]
        result = [{"metric": {"__name__": "a", "instance": f"replica-{i}", "note": EVIL}, "values": values} for i in range(3)]
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


def no_script_ran(browser: Any) -> bool:
    return bool(browser.execute_script("return document.querySelectorAll('main img').length === 0 && window.__pwned === undefined"))


def test_table_shows_results_with_labels_escaped(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/graph?g0.expr=requests_total&g0.tab=1")
    text = wait_for(browser, "const t = document.querySelector('.result-table'); return t && t.innerText;")
    assert 'path="<img src=x onerror=\\"window.__pwned=1\\">"' in text
    assert "42" in text
    assert no_script_ran(browser)


def test_graph_draws_one_line_per_series_with_a_legend(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/graph?g0.expr=a&g0.tab=0&g0.range_input=15m")
    assert wait_for(browser, "return document.querySelector('[data-series]')?.getAttribute('data-series')") == "3"
    legend = browser.execute_script("return document.querySelector('.legend').innerText")
    assert 'instance="replica-0"' in legend and "<img" in legend
    assert browser.execute_script("return document.querySelectorAll('.legend-item').length") == 3
    assert browser.execute_script("return document.querySelectorAll('canvas').length") == 1
    assert no_script_ran(browser)


def test_query_errors_are_shown_as_text(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/graph?g0.expr=broken(&g0.tab=1")
    error = wait_for(browser, "const e = document.querySelector('.error'); return e && e.innerText;")
    assert error.startswith("1:8: parse error") and EVIL in error
    assert no_script_ran(browser)


def test_two_thousand_series_of_a_thousand_points_draw(browser: Any, base_url: str) -> None:
    # 1,000 steps: a range of 999 resolution steps of 60 s.
    browser.get(f"{base_url}/graph?g0.expr=wide&g0.tab=0&g0.range_input=16h39m&g0.step_input=60&g0.end_input=2026-11-22%2012:00:00")
    assert wait_for(browser, "return document.querySelector('[data-series]')?.getAttribute('data-series')", 60) == "2000"
    assert browser.execute_script("return document.querySelectorAll('.error').length") == 0
    assert wait_for(browser, "return document.querySelectorAll('.legend-item').length === 2000")


def test_targets_and_status_pages_escape_everything(browser: Any, base_url: str) -> None:
    browser.get(f"{base_url}/targets")
    text = wait_for(browser, "return document.querySelector('#targets table') && document.getElementById('targets').innerText")
    assert "web (0/1 up)" in text and EVIL in text
    browser.get(f"{base_url}/status")
    config = wait_for(browser, "return document.getElementById('config')?.innerText")
    assert EVIL in config
    assert no_script_ran(browser)


def test_ui_works_under_a_route_prefix(browser: Any) -> None:
    api = PrometheusAPI(engine_factory=lambda t: EvilEngine(), querier_factory=sample_querier,
                        parse_selector=simple_selector, collector=EvilCollector(), build_info={"version": "2.42.0"})
    routes = Routes(api=api, federate=lambda r: Response(404, b""), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda a: Response(200, b""), route_prefix="/prom")
    httpd, _ = serve("127.0.0.1", 0, routes)
    try:
        host, port = httpd.server_address[:2]
        browser.get(f"http://{host}:{port}/prom/graph?g0.expr=requests_total&g0.tab=1")
        text = wait_for(browser, "const t = document.querySelector('.result-table'); return t && t.innerText;")
        assert "42" in text
        assert browser.execute_script("return location.pathname") == "/prom/graph"
        links = browser.execute_script("return [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))")
        assert links == ["/prom/graph", "/prom/dashboards", "/prom/alerts", "/prom/targets", "/prom/service-discovery",
                         "/prom/rules", "/prom/tsdb-status", "/prom/status"]
        assert browser.execute_script("return document.styleSheets[0].cssRules.length") > 0  # CSS loaded
    finally:
        httpd.shutdown()
        httpd.server_close()


QUERIES_SENT = """return performance.getEntriesByType('resource').map(e => new URL(e.name))
  .filter(u => u.pathname.endsWith('/api/v1/query_range') || u.pathname.endsWith('/api/v1/query'))
  .map(u => [u.pathname, Object.fromEntries(u.searchParams)])"""


QUERIES_SENT_AT = """return [performance.getEntriesByName('metricslib:queries-sent')[0].startTime,
  performance.getEntriesByType('navigation')[0].domInteractive,
  performance.getEntriesByName('metricslib:app-start')[0].startTime]"""


def test_the_first_queries_leave_before_the_page_code_and_are_sent_once(browser: Any, base_url: str) -> None:
    # Two panels, "until now": the shell's boot script asks for both at the time it took
    # as "now"; the page's code takes those answers instead of asking again.
    browser.get(f"{base_url}/graph?g0.expr=a&g0.tab=0&g0.range_input=15m&g1.expr=requests_total&g1.tab=1")
    wait_for(browser, "return document.querySelectorAll('.query-panel[data-series]').length === 2")
    assert browser.execute_script("return [...document.querySelectorAll('.query-panel')].map(p => p.dataset.series)") == ["3", "1"]
    now = browser.execute_script("return window.__metricslibBoot.now")
    sent = browser.execute_script(QUERIES_SENT)
    assert sorted(sent) == [
        ["/api/v1/query", {"query": "requests_total", "time": str(now)}],
        ["/api/v1/query_range", {"query": "a", "start": str(now - 900), "end": str(now), "step": "3"}],
    ]  # (both languages write a float's shortest round-trip form; a whole one comes back as an int)
    # Sent by the shell's inline copy of the boot script, while the page was still being parsed.
    sent_at, parsed_at, started_at = browser.execute_script(QUERIES_SENT_AT)
    assert sent_at < parsed_at < started_at
    # Running the panel again asks afresh: an early answer serves once.
    browser.find_element("css selector", ".query-panel .execute").click()
    wait_for(browser, f"return ({QUERIES_SENT[len('return '):]}).length === 3")
    assert wait_for(browser, "return document.querySelector('.query-panel')?.getAttribute('data-series')") == "3"


SCRIPTS_LOADED = """return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)
  .filter(p => p.endsWith('.js')).map(p => p.split('/').pop())"""


def test_each_page_loads_only_its_own_code(browser: Any, base_url: str) -> None:
    # The query page: its code, the chunks the shell names beside it (fetched at once by
    # the boot script), the boot script's file, and once the chart is drawn the editor.
    browser.get(f"{base_url}/graph?g0.expr=a&g0.tab=0&g0.range_input=15m")
    assert wait_for(browser, "return document.querySelector('[data-series]')?.getAttribute('data-series')") == "3"
    wait_for(browser, "return document.querySelector('.cm-editor') !== null")
    app, deps = browser.execute_script("const s = document.querySelector('script[data-app]'); return [s.dataset.app, s.dataset.deps]")
    up_front = {app.split("/")[-1], *deps.split()}
    assert len(up_front) >= 2 and all(name.endswith(".js") for name in up_front)
    graph = browser.execute_script(SCRIPTS_LOADED)
    assert len(graph) == len(set(graph))  # each fetched once
    later = set(graph) - up_front - {n for n in graph if n.startswith("boot-")}
    assert len(later) == 1 and next(iter(later)).startswith("chunk-")  # the editor
    # Every other page fetches its own chunk, which the query page did not.
    own: dict[str, str] = {}
    for page in ["/dashboards", "/targets", "/tsdb-status"]:
        browser.get(base_url + page)
        wait_for(browser, "return document.querySelector('main')?.children.length > 0")
        chunks = set(browser.execute_script(SCRIPTS_LOADED)) - set(graph)
        assert len(chunks) == 1 and next(iter(chunks)).startswith("chunk-"), (page, chunks)
        own[page] = chunks.pop()
    assert len(set(own.values())) == 3


def test_the_page_works_when_a_content_security_policy_refuses_inline_scripts(browser: Any, tmp_path: Any) -> None:
    from metricslib.web_guard import WebConfigFile

    config = tmp_path / "web.yml"
    config.write_text("http_server_config:\n  headers:\n    Content-Security-Policy: \"script-src 'self'\"\n")
    api = PrometheusAPI(engine_factory=lambda t: EvilEngine(), querier_factory=sample_querier,
                        parse_selector=simple_selector, collector=EvilCollector(), build_info={"version": "2.42.0"})
    routes = Routes(api=api, federate=lambda r: Response(404, b""), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda a: Response(200, b""))
    httpd, _ = serve("127.0.0.1", 0, routes, WebConfigFile(str(config)))
    try:
        host, port = httpd.server_address[:2]
        browser.get(f"http://{host}:{port}/graph?g0.expr=a&g0.tab=0&g0.range_input=15m")
        assert wait_for(browser, "return document.querySelector('[data-series]')?.getAttribute('data-series')") == "3"
        # The inline copy was refused; the same script as a module file (run once the
        # page is parsed) sent the query instead, and only once.
        sent_at, parsed_at, started_at = browser.execute_script(QUERIES_SENT_AT)
        assert parsed_at <= sent_at < started_at
        assert [path for path, _ in browser.execute_script(QUERIES_SENT)] == ["/api/v1/query_range"]
    finally:
        httpd.shutdown()
        httpd.server_close()
