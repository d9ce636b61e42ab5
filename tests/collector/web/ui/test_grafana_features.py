"""Grafana features on a board, in headless Chromium against a running collector with real scraped targets.

The collector of ``test_pages`` (three SDK targets: two in job ``gallery``, one
in ``billing``) serves ``data/grafana_features.json``: rows expanded, collapsed
and repeated, panels repeated across and down, chained variables, variables
that ask again when the time range changes, a UTC time zone and an annotation
from a Prometheus query.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.collector.web.ui.browsing import wait_for
from tests.collector.web.ui.test_pages import EVIL, api, panel_series

# The same fixture as test_pages: one collector for this module.
from tests.collector.web.ui.test_pages import collector as collector

pytestmark = pytest.mark.integration

BOARD = "/d/features"


def instances(base: str, job: str | None = None) -> list[str]:
    selector = f'up{{job="{job}"}}' if job else "up"
    return sorted(
        r["metric"]["instance"] for r in api(base, "/api/v1/query", query=selector)["result"]
    )


def titles(browser: Any) -> list[str]:
    return list(
        browser.execute_script(
            "return [...document.querySelectorAll('.grid [data-panel]')].map(e => e.getAttribute('data-panel'))"
        )
    )


def grid_pos(browser: Any, title: str) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a panel on the 24-column grid, read back from its CSS grid placement."""
    style = browser.execute_script(
        "const s = document.querySelector(`[data-panel=${JSON.stringify(arguments[0])}]`).style;"
        "return [s.gridColumnStart, s.gridRowStart, s.gridColumnEnd, s.gridRowEnd]",
        title,
    )
    span = lambda text: int(text.split()[-1])  # noqa: E731  ("span 12")
    return int(style[0]) - 1, int(style[1]) - 1, span(style[2]), span(style[3])


def stat_value(browser: Any, title: str) -> str:
    script = (
        f"return document.querySelector('[data-panel={json.dumps(title)}] .stat-value')?.innerText"
    )
    return str(wait_for(browser, script))


def wait_drawn(browser: Any, title: str) -> None:
    panel_series(browser, title)


def test_rows_collapse_and_expand_and_the_grid_follows(browser: Any, collector: str) -> None:
    browser.get(f"{collector}{BOARD}")
    wait_drawn(browser, "Below the repeats")
    assert "Hidden stat" not in titles(browser)
    row = grid_pos(browser, "Collapsed details")
    repeats = grid_pos(browser, "Repeats")
    assert repeats[1] == row[1] + 1  # a collapsed row takes one grid row
    assert (
        browser.execute_script(
            "return document.querySelector('[data-panel=\"Collapsed details\"]').getAttribute('data-collapsed')"
        )
        == "true"
    )
    assert (
        browser.find_element("css selector", "[data-panel='Collapsed details'] .row-title").text
        == "▸ Collapsed details (2 panels)"
    )

    browser.find_element("css selector", "[data-panel='Collapsed details'] .row-title").click()
    assert panel_series(browser, "Hidden stat") == 1
    assert stat_value(browser, "Hidden stat") == "3"
    assert panel_series(browser, "Hidden chart") == 3
    # The row's panels keep their places relative to each other, right under the row;
    # everything below moves down by their height.
    assert grid_pos(browser, "Hidden stat") == (0, row[1] + 1, 8, 4)
    assert grid_pos(browser, "Hidden chart") == (8, row[1] + 1, 16, 6)
    assert grid_pos(browser, "Repeats")[1] == row[1] + 1 + 6

    browser.find_element("css selector", "[data-panel='Collapsed details'] .row-title").click()
    wait_for(
        browser,
        "return !document.querySelector('[data-panel=\"Hidden stat\"]') && document.querySelector('[data-panel=\"Repeats\"]')",
    )
    assert grid_pos(browser, "Repeats")[1] == row[1] + 1

    # An expanded row (its panels follow it in the list) folds too, and the rows below move up.
    overview_row = grid_pos(browser, "Overview")
    assert grid_pos(browser, "Up by job") == (0, overview_row[1] + 1, 24, 6)
    before = grid_pos(browser, "Collapsed details")[1]
    browser.find_element("css selector", "[data-panel='Overview'] .row-title").click()
    wait_for(
        browser,
        "return !document.querySelector('[data-panel=\"Up by job\"]') && document.querySelector('[data-panel=\"Collapsed details\"]')",
    )
    assert grid_pos(browser, "Collapsed details")[1] == before - 6


def test_panels_repeat_across_and_down_one_copy_per_value(browser: Any, collector: str) -> None:
    every = instances(collector)
    assert len(every) == 3
    browser.get(f"{collector}{BOARD}")  # instance is All: one copy per instance
    for inst in every:
        assert panel_series(browser, f"CPU {inst}") == 1
        assert stat_value(browser, f"Up {inst}") == "1"
    # Across, two per row (maxPerRow 2): 12 columns each, the third wraps.
    across = [grid_pos(browser, f"CPU {inst}") for inst in every]
    top = across[0][1]
    assert across == [(0, top, 12, 5), (12, top, 12, 5), (0, top + 5, 12, 5)]
    # Down: one under the other, as wide as the panel; what was below them moves down.
    down = [grid_pos(browser, f"Up {inst}") for inst in every]
    first = down[0][1]
    assert first == top + 10
    assert down == [(0, first, 6, 3), (0, first + 3, 6, 3), (0, first + 6, 6, 3)]
    assert grid_pos(browser, "Range 900 / 900")[:2] == (6, first)
    assert grid_pos(browser, "Below the repeats")[1] == first + 9
    # Each copy queries with its own value: its one series carries that instance.
    legend = browser.execute_script(
        f"return document.querySelector('[data-panel={json.dumps('CPU ' + every[1])}] .legend-item').innerText"
    )
    assert legend == every[1]


def test_a_repeated_row_copies_its_panels_per_value(browser: Any, collector: str) -> None:
    browser.get(f"{collector}{BOARD}")
    wait_drawn(browser, "Below the repeats")
    assert stat_value(browser, "Targets of billing") == "1"
    assert stat_value(browser, "Targets of gallery") == "2"
    names = titles(browser)
    assert (
        names.index("Job billing")
        < names.index("Targets of billing")
        < names.index("Job gallery")
        < names.index("Targets of gallery")
    )
    assert grid_pos(browser, "Job gallery")[1] == grid_pos(browser, "Targets of billing")[1] + 4

    browser.get(f"{collector}{BOARD}?var-job=gallery")
    assert stat_value(browser, "Targets of gallery") == "2"
    assert "Job billing" not in titles(browser)


def test_a_chained_variable_asks_again_when_the_one_it_uses_changes(
    browser: Any, collector: str
) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(f"{collector}{BOARD}")
    wait_drawn(browser, "Below the repeats")
    options = "return [...document.querySelectorAll('select[data-variable=instance] option')].map(o => o.value).filter(v => v !== '$__all')"
    assert browser.execute_script(options) == instances(collector)
    select = Select(browser.find_element("css selector", "select[data-variable=job]"))
    select.deselect_all()
    select.select_by_value("billing")
    (billing,) = instances(collector, "billing")
    assert wait_for(
        browser, f"const o = ({options.removeprefix('return ')}); return o.length === 1 && o"
    ) == [billing]
    # The panels repeated over instance follow: one copy, for billing's instance.
    assert panel_series(browser, f"CPU {billing}") == 1
    wait_for(browser, "return document.querySelectorAll('[data-panel^=\"CPU \"]').length === 1")
    assert "var-job=billing" in browser.current_url


def test_variables_with_refresh_2_ask_again_when_the_time_range_changes(
    browser: Any, collector: str
) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(f"{collector}{BOARD}")
    wait_drawn(browser, "Range 900 / 900")
    Select(browser.find_element("css selector", "select.time-range")).select_by_value("1h")
    # refresh 2 (on time range change) asks with the new $__range; refresh 1 (on load) keeps its options.
    wait_drawn(browser, "Range 900 / 3600")
    assert "from=now-1h" in browser.current_url
    browser.refresh()  # a load asks every query variable but those with refresh 0 (never)
    wait_drawn(browser, "Range 3600 / 3600")
    saved = browser.execute_script(
        "return [...document.querySelectorAll('select[data-variable=saved] option')].map(o => o.value)"
    )
    assert saved == ["kept", "also kept"]  # the options saved with the board, not the jobs


@pytest.fixture
def in_kolkata(browser: Any) -> Iterator[None]:
    """The browser's own time zone is five and a half hours off UTC, so UTC cannot pass for it."""
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Kolkata"})
    try:
        yield
    finally:
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def tick_texts(t: float, offset_minutes: int) -> set[str]:
    """What a time tick may read in that zone: its clock time, or its date where the day changes."""
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc) + datetime.timedelta(
        minutes=offset_minutes
    )
    return {f"{d:%H:%M}", f"{d:%H:%M:%S}", f"{d:%b} {d.day}"}


def span_end(browser: Any) -> tuple[str, datetime.datetime]:
    text = str(wait_for(browser, "return document.querySelector('.time-span')?.innerText"))
    m = re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d to (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.+)", text
    )
    assert m, text
    return m[2], datetime.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc
    )


def absolute_span(browser: Any, board: str) -> str:
    """The picker's span for 2026-12-01 10:00 to 11:00 UTC, given as Grafana's links do (epoch ms)."""
    browser.get(f"{board}?from=1796119200000&to=1796122800000")
    wait_for(
        browser, "return document.querySelector('.time-span')?.innerText.startsWith('2026-12-01')"
    )
    return str(browser.find_element("css selector", ".time-span").text)


def check_ticks(browser: Any, title: str, offset_minutes: int) -> None:
    ticks = json.loads(
        wait_for(
            browser,
            f"return document.querySelector('[data-panel={json.dumps(title)}]').getAttribute('data-x-ticks')",
        )
    )
    assert len(ticks["splits"]) >= 2
    for split, label in zip(ticks["splits"], ticks["values"], strict=True):
        assert str(label) in tick_texts(split, offset_minutes), (split, label)


def test_the_board_time_zone_rules_ticks_tooltip_and_picker(
    browser: Any, collector: str, in_kolkata: None
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    browser.get(f"{collector}{BOARD}")
    wait_drawn(browser, "Up by job")
    zone, end = span_end(browser)
    assert zone == "UTC"
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - end).total_seconds()) < 600  # UTC, not Kolkata's +5:30
    check_ticks(browser, "Up by job", 0)
    # Hover at the end of a shorter range, where the targets have samples (offsets are from the centre).
    browser.get(f"{collector}{BOARD}?from=now-5m&to=now")
    wait_drawn(browser, "Up by job")
    over = browser.find_element("css selector", "[data-panel='Up by job'] .u-over")
    ActionChains(browser).move_to_element_with_offset(
        over, over.size["width"] // 2 - 2, 5
    ).perform()
    t = float(
        wait_for(
            browser,
            "const t = document.querySelector('[data-panel=\"Up by job\"] .tooltip'); return t && !t.hidden && t.getAttribute('data-time')",
        )
    )
    shown = browser.execute_script(
        "return document.querySelector('[data-panel=\"Up by job\"] .tooltip-time').innerText"
    )
    assert shown == datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )

    # An absolute range, as Grafana's links carry it (epoch milliseconds), reads in UTC beside the picker.
    assert (
        absolute_span(browser, f"{collector}{BOARD}")
        == "2026-12-01 10:00:00 to 2026-12-01 11:00:00 UTC"
    )
    assert (
        browser.find_element("css selector", "select.time-range option:checked").text
        == "Custom range"
    )

    # A board without a zone ("" is the browser's) shows the browser's time.
    browser.get(f"{collector}/d/browser-time")
    wait_drawn(browser, "Up")
    zone, end = span_end(browser)
    assert zone == "GMT+5:30"
    assert abs((now + datetime.timedelta(hours=5, minutes=30) - end).total_seconds()) < 600
    check_ticks(browser, "Up", 330)
    assert (
        absolute_span(browser, f"{collector}/d/browser-time")
        == "2026-12-01 15:30:00 to 2026-12-01 16:30:00 GMT+5:30"
    )


def test_time_ticks_are_clock_times_with_the_date_where_the_day_changes(
    browser: Any, collector: str
) -> None:
    # Two days on a UTC board: ticks hours apart, at least one midnight among them.
    browser.get(f"{collector}{BOARD}?from=now-2d&to=now")
    wait_drawn(browser, "Up by job")
    ticks = json.loads(
        wait_for(
            browser,
            "return document.querySelector('[data-panel=\"Up by job\"]').getAttribute('data-x-ticks')",
        )
    )
    days = 0
    for split, label in zip(ticks["splits"], ticks["values"], strict=True):
        d = datetime.datetime.fromtimestamp(split, datetime.timezone.utc)
        assert d.minute == d.second == 0, (split, label)  # clock-aligned
        if (d.hour, d.minute) == (0, 0):
            assert label == f"{d:%b} {d.day}"
            days += 1
        else:
            assert label == f"{d:%H:%M}"
    assert days >= 1, ticks


def wait_for_step_points(base: str, expr: str, step: int = 15) -> None:
    """Waits until a point of ``expr`` on the multiples of ``step`` (where annotation queries look) has samples."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = time.time()
        if api(
            base,
            "/api/v1/query_range",
            query=expr,
            start=str(now // step * step - 900),
            end=str(now),
            step=str(step),
        )["result"]:
            return
        time.sleep(0.5)


def test_prometheus_annotations_are_markers_with_a_tooltip(browser: Any, collector: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    expr = 'up{job="billing"}'
    wait_for_step_points(collector, expr)
    browser.get(f"{collector}{BOARD}")
    wait_drawn(browser, "Up by job")
    markers = wait_for(
        browser,
        "const m = [...document.querySelectorAll('[data-panel=\"Up by job\"] .annotation')];"
        " return m.length && m.map(e => [e.getAttribute('data-source'), Number(e.getAttribute('data-time'))])",
    )
    # billing has been up since its first scrape: one run of non-zero points, so one annotation, from the first point.
    assert [m[0] for m in markers] == ["Billing up"]
    start = markers[0][1]
    before = api(
        collector,
        "/api/v1/query_range",
        query=expr,
        start=str(start - 15),
        end=str(start),
        step="15",
    )["result"]
    assert [p[0] for p in before[0]["values"]] == [start]
    # The built-in entry says nothing; one we cannot draw is named; a disabled one is not drawn.
    notices = browser.execute_script(
        "return [...document.querySelectorAll('.notices .notice')].map(e => e.innerText)"
    )
    assert notices == ['Annotation "Deploys (loki)" is not supported here']
    flag = browser.find_element("css selector", "[data-panel='Up by job'] .annotation-flag")
    ActionChains(browser).move_to_element(flag).perform()
    tip = "document.querySelector('[data-panel=\"Up by job\"] .annotation-tip')"
    wait_for(browser, f"const t = {tip}; return t && getComputedStyle(t).display !== 'none'")
    (billing,) = instances(collector, "billing")
    parts = browser.execute_script(
        f"const t = {tip}; return ['title', 'text', 'when'].map(c => t.querySelector('.annotation-' + c).innerText)"
        " .concat([[...t.querySelectorAll('.label')].map(e => e.innerText)])"
    )
    title, text, when, tags = parts
    assert (title, text, tags) == ("billing is up", f"on {billing}", ["billing", billing])
    # The board is in UTC: the tooltip's times are too.
    assert when.startswith(
        datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    )

    # Each annotation has a switch, as in Grafana: a disabled one is drawn once switched on, and one switched off goes.
    sources = (
        "return [...document.querySelectorAll('[data-panel=\"Up by job\"] .annotation')]"
        ".map(e => e.getAttribute('data-source')).sort().join(',')"
    )
    browser.find_element("css selector", "input[data-annotation='Disabled']").click()
    assert (
        wait_for(
            browser, f"const s = (() => {{ {sources} }})(); return s.includes('Disabled') && s"
        )
        == "Billing up,Disabled,Disabled,Disabled"
    )
    browser.find_element("css selector", "input[data-annotation='Billing up']").click()
    assert (
        wait_for(
            browser, f"const s = (() => {{ {sources} }})(); return !s.includes('Billing') && s"
        )
        == "Disabled,Disabled,Disabled"
    )


def test_label_values_with_markup_stay_text_in_repeats_and_annotations(
    browser: Any, collector: str
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    wait_for_step_points(collector, "gallery_note")
    browser.get(f"{collector}/d/markup")
    # The note's value (markup) is the repeat's value: in the row's and the panel's titles, as text.
    series = (
        "return [...document.querySelectorAll('[data-panel]')]"
        ".find(e => e.getAttribute('data-panel') === arguments[0])?.getAttribute('data-series')"
    )
    assert wait_for(browser, series.replace("arguments[0]", json.dumps(f"Note {EVIL}"))) == "1"
    assert browser.find_element("css selector", ".row-title").text == f"▾ Row {EVIL}"
    flag = wait_for(browser, "return document.querySelector('.annotation-flag')")
    ActionChains(browser).move_to_element(flag).perform()
    tip = wait_for(
        browser,
        "const t = document.querySelector('.annotation-tip'); return t && getComputedStyle(t).display !== 'none' && t.innerText",
    )
    assert tip.startswith(f"{EVIL}\ntext {EVIL}\n")
    assert not browser.find_elements(
        "css selector", "input[data-annotation]"
    )  # hide: true has no switch
    assert browser.execute_script(
        "return document.querySelectorAll('main img').length === 0 && window.__pwned === undefined"
    )
