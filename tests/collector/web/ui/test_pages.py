"""The UI in headless Chromium against a running collector with real scraped targets.

Three SDK-instrumented targets in two jobs are scraped every second; the
collector serves a Grafana-exported board. The tests do what a person would:
open the board and switch its variable, click the legend, hover the chart and
read values, drag to zoom, reload a shared link, and type a metric name.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.collector.web.ui.browsing import wait_for
from tests.helpers import PYTHON, free_port, http_get, running

pytestmark = pytest.mark.integration

EVIL = '<img src=x onerror="window.__pwned=1">'
APP = textwrap.dedent(
    """
    import sys, time
    from metricslib import Counter, Gauge, Registry
    from metricslib.serve import start_http_server
    registry = Registry()
    requests = Counter("image_gallery_requests", "Requests.", ["code"], registry=registry)
    note = Gauge("gallery_note", "A label value with markup.", ["note"], registry=registry)
    note.labels(%r).set(1)
    start_http_server(int(sys.argv[1]), registry=registry)
    while True:
        requests.labels("200").inc(int(sys.argv[2]))
        time.sleep(0.1)
    """
) % EVIL


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("ui")
    (tmp / "app.py").write_text(APP)
    boards = tmp / "boards"
    boards.mkdir()
    for board in sorted((Path(__file__).parent / "data").glob("*.json")):
        shutil.copy(board, boards)
    ports = {"gallery": [free_port(), free_port()], "billing": [free_port()]}
    with ExitStack() as stack:
        for job_ports in ports.values():
            for i, port in enumerate(job_ports):
                stack.enter_context(running([PYTHON, str(tmp / "app.py"), str(port), str(i + 1)],
                                            ready_url=f"http://127.0.0.1:{port}/metrics"))
        config = ["global:", "  scrape_interval: 1s", "scrape_configs:"]
        for job, job_ports in ports.items():
            listed = ", ".join(f'"127.0.0.1:{p}"' for p in job_ports)
            config += [f"  - job_name: {job}", "    static_configs:", f"      - targets: [{listed}]"]
        (tmp / "prometheus.yml").write_text("\n".join(config) + "\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        stack.enter_context(running(
            [PYTHON, "-m", "metricslib", "collector", "--config", str(tmp / "prometheus.yml"),
             "--data-dir", str(tmp / "data"), "--listen", f"127.0.0.1:{port}", "--dashboards", str(boards)],
            ready_url=f"{base}/-/ready"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(api(base, "/api/v1/query", query="up == 1")["result"]) == 3:
                break
            time.sleep(0.5)
        time.sleep(3)  # a few samples per series for the charts
        yield base


def api(base: str, path: str, **params: str) -> Any:
    status, _, body = http_get(f"{base}{path}?{urllib.parse.urlencode(params)}")
    payload = json.loads(body)
    assert status == 200 and payload["status"] == "success", payload
    return payload["data"]


def panel_series(browser: Any, title: str, timeout: float = 15.0) -> int:
    script = f"return document.querySelector('[data-panel={json.dumps(title)}]')?.getAttribute('data-series')"
    return int(wait_for(browser, script, timeout))


def test_grafana_board_shows_the_series_of_each_variable_value(browser: Any, collector: str) -> None:
    browser.get(f"{collector}/d/fleet/fleet-exported?var-job=gallery")
    assert panel_series(browser, "Up by instance (gallery)") == 2
    browser.get(f"{collector}/d/fleet?var-job=billing")
    assert panel_series(browser, "Up by instance (billing)") == 1
    browser.get(f"{collector}/d/fleet?var-job=gallery&var-job=billing")
    assert panel_series(browser, "Up by instance (gallery + billing)") == 3
    browser.get(f"{collector}/d/fleet")  # the board's own default: All
    assert panel_series(browser, "Targets up") == 1
    assert wait_for(browser, "return document.querySelector('[data-panel=\"Targets up\"] .stat-value')?.innerText") == "3"
    assert panel_series(browser, "Request rate") == 2
    # An unsupported panel type names itself; the rest of the board works.
    placeholder = wait_for(browser, "return document.querySelector('[data-panel=\"Share by code\"] .placeholder')?.innerText")
    assert placeholder == 'Panel type "piechart" is not supported here'


def test_switching_the_variable_redraws_and_lands_in_the_url(browser: Any, collector: str) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(f"{collector}/d/fleet?var-job=gallery")
    assert panel_series(browser, "Up by instance (gallery)") == 2
    select = Select(browser.find_element("css selector", "select[data-variable=job]"))
    select.deselect_all()
    select.select_by_value("billing")
    assert panel_series(browser, "Up by instance (billing)") == 1
    assert "var-job=billing" in browser.current_url and "var-job=gallery" not in browser.current_url


def test_board_labels_with_markup_show_as_text(browser: Any, collector: str) -> None:
    browser.get(f"{collector}/d/fleet")
    assert panel_series(browser, "Notes") == 3
    text = browser.execute_script("return document.querySelector('[data-panel=\"Notes\"]').innerText")
    assert EVIL in text
    assert browser.execute_script("return document.querySelectorAll('main img').length === 0 && window.__pwned === undefined")


def test_legend_click_isolates_and_ctrl_click_toggles(browser: Any, collector: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{collector}/graph?g0.expr=up&g0.range_input=5m")
    assert panel_series(browser, "") == 3
    items = browser.find_elements("css selector", ".legend-item")
    off = "return [...document.querySelectorAll('.legend-item')].map(e => e.classList.contains('off'))"
    items[1].click()
    assert browser.execute_script(off) == [True, False, True]
    items[1].click()  # clicking the only visible series shows all again
    assert browser.execute_script(off) == [False, False, False]
    ActionChains(browser).key_down(Keys.CONTROL).click(items[2]).key_up(Keys.CONTROL).perform()
    assert browser.execute_script(off) == [False, False, True]


def test_hover_lists_the_values_the_api_gives_at_that_time(browser: Any, collector: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    expr = "image_gallery_requests_total"
    browser.get(f"{collector}/graph?g0.expr={expr}&g0.range_input=1m&g0.step_input=1")
    assert panel_series(browser, "") == 3
    over = browser.find_element("css selector", ".u-over")
    width = over.size["width"]
    ActionChains(browser).move_to_element_with_offset(over, int(width * 0.4), 5).perform()
    t = float(wait_for(browser, "const t = document.querySelector('.tooltip'); return t && !t.hidden && t.getAttribute('data-time')"))
    rows = browser.execute_script(
        "return [...document.querySelectorAll('.tooltip-row')].map(r => [r.querySelector('.tooltip-label').innerText, Number(r.getAttribute('data-value'))])")
    expected = {
        "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(r["metric"].items()) if k != "__name__") + "}": float(r["values"][0][1])
        for r in api(collector, "/api/v1/query_range", query=expr, start=str(t), end=str(t), step="1")["result"]
    }
    shown = {label.removeprefix(expr): value for label, value in rows}
    assert shown == expected and len(shown) >= 1


def test_drag_zooms_into_the_selected_time(browser: Any, collector: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    browser.get(f"{collector}/graph?g0.expr=up&g0.range_input=1h")
    assert panel_series(browser, "") == 3
    over = browser.find_element("css selector", ".u-over")
    width = over.size["width"]
    (ActionChains(browser).move_to_element_with_offset(over, -width // 4, 0).click_and_hold()
     .move_by_offset(width // 4, 0).release().perform())
    rng = wait_for(browser, "const v = document.querySelector('.range-input').value; return v !== '1h' && v")
    assert 14 * 60 <= parse_minutes(rng) * 60 <= 16 * 60, rng
    assert "g0.end_input=" in browser.current_url and "g0.range_input=1h" not in browser.current_url


def parse_minutes(text: str) -> float:
    total = 0.0
    for number, unit in __import__("re").findall(r"(\d+)(ms|s|m|h)", text):
        total += int(number) * {"ms": 1 / 60000, "s": 1 / 60, "m": 1, "h": 60}[unit]
    return total


def test_prometheus_links_open_the_same_panels_and_round_trip(browser: Any, collector: str) -> None:
    link = ("/graph?g0.expr=up&g0.tab=1&g0.range_input=30m"
            "&g1.expr=sum(image_gallery_requests_total)&g1.tab=0&g1.range_input=2h&g1.end_input=2026-12-01%2010:00:00&g1.step_input=30")
    browser.get(collector + link)
    wait_for(browser, "return document.querySelectorAll('.query-panel[data-series] .cm-content').length === 2")
    panels = browser.execute_script(
        "return [...document.querySelectorAll('.query-panel')].map(p => [p.querySelector('.cm-content').innerText,"
        " p.querySelector('.tabs .active').innerText, p.querySelector('.range-input').value,"
        " p.querySelector('.end-input').value, p.querySelector('.step-input').value])")
    assert panels == [["up", "Table", "30m", "", ""],
                      ["sum(image_gallery_requests_total)", "Graph", "2h", "2026-12-01 10:00:00", "30"]]
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)
    assert params["g1.end_input"] == ["2026-12-01 10:00:00"] and params["g0.tab"] == ["1"] and params["g1.step_input"] == ["30"]


def test_completion_offers_a_scraped_metric_name(browser: Any, collector: str) -> None:
    browser.get(f"{collector}/graph")
    editor = wait_for(browser, "return document.querySelector('.cm-content')")
    editor.click()
    editor.send_keys("image_gal")
    options = wait_for(browser, "const o = [...document.querySelectorAll('.cm-tooltip-autocomplete li')]; return o.length && o.map(e => e.innerText)")
    assert any("image_gallery_requests_total" in o for o in options), options


def test_earlier_and_later_move_the_end_by_half_the_range(browser: Any, collector: str) -> None:
    browser.get(f"{collector}/graph?g0.expr=up&g0.range_input=1h&g0.end_input=2026-12-01%2010:00:00")
    assert panel_series(browser, "") >= 0
    browser.find_element("css selector", ".end-earlier").click()
    assert wait_for(browser, "return document.querySelector('.end-input').value") == "2026-12-01 09:30:00"
    browser.find_element("css selector", ".end-later").click()
    browser.find_element("css selector", ".end-later").click()
    assert wait_for(browser, "return document.querySelector('.end-input').value") == "2026-12-01 10:30:00"
    assert "g0.end_input=2026-12-01+10%3A30%3A00" in browser.current_url


def test_tsdb_status_page_shows_head_stats_and_top_lists(browser: Any, collector: str) -> None:
    browser.get(f"{collector}/tsdb-status")
    wait_for(browser, "return document.querySelector('#head-stats')")
    expected = api(collector, "/api/v1/status/tsdb")
    cells = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#head-stats tr')]"
        ".map(tr => [tr.cells[0].innerText, tr.cells[1].innerText]))")
    head = expected["headStats"]
    assert cells["Number of series"] == str(head["numSeries"]) and head["numSeries"] > 0
    assert cells["Number of chunks"] == str(head["chunkCount"])
    assert cells["Number of label pairs"] == str(head["numLabelPairs"])
    assert cells["Current min time"].startswith(time.strftime("%Y-", time.gmtime(head["minTime"] / 1000)))
    for key in ("seriesCountByMetricName", "labelValueCountByLabelName", "memoryInBytesByLabelName",
                "seriesCountByLabelValuePair"):
        rows = browser.execute_script(
            f"return [...document.querySelectorAll('[data-table={key}] tr')]"
            ".map(tr => [tr.cells[0].innerText, Number(tr.cells[1].innerText)])")
        assert rows == [[e["name"], e["value"]] for e in expected[key]], key
    by_metric = dict(browser.execute_script(
        "return [...document.querySelectorAll('[data-table=seriesCountByMetricName] tr')]"
        ".map(tr => [tr.cells[0].innerText, Number(tr.cells[1].innerText)])"))
    assert by_metric["up"] == 3 and by_metric["image_gallery_requests_total"] == 3  # one per target
    assert browser.execute_script("return window.__pwned === undefined")  # label values with markup stay text
