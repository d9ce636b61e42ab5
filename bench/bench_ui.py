"""Time to draw a graph: our UI against Prometheus 2.42's own UI, same data, same browser.

The same day of data is backfilled into a real Prometheus (promtool) and
imported into our collector. One headless Chromium opens the same
``/graph?g0.expr=...`` link on each server, alternating, and reads
``performance.now()`` at the first animation frame where the chart shows
every series: page load, query and drawing together, as a person waits for
them. The same watcher is put into both pages before their own scripts run
(``Page.addScriptToEvaluateOnNewDocument``) and checks every frame from the
start: a script sent by the driver only runs once the load event has passed
and the page's main thread is free, which would floor a page that draws
before then at the driver's own delay. Cases: 50, 500 and 2,000 series over 1 day at 250 points, and 50
series at 11,000 points. Reports the medians and the ratio ours / Prometheus.

Debian's Prometheus 2.42 serves its classic UI (jQuery, Rickshaw/D3 SVG) at
``/graph``; that is the UI compared here.

    .venv/bin/python bench/bench_ui.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.collector.web.ui.browsing import chromium
from tests.collector.workload import Workload, prometheus_and_collector

DAY = 86_400
START = 1_750_000_000
GROUPS = (("a", 50), ("b", 450), ("c", 1500))  # 50, 500 and 2,000 series by selector
DENSE_SERIES, DENSE_STEP = 50, 8
DENSE_RANGE = 10_999 * DENSE_STEP  # 11,000 points per series

CASES = [  # (name, expr, series, range seconds, step seconds)
    ("50 series x 250 points", 'ui_bench{g="a"}', 50, DAY, 346),
    ("500 series x 250 points", 'ui_bench{g=~"a|b"}', 500, DAY, 346),
    ("2000 series x 250 points", "ui_bench", 2000, DAY, 346),
    ("50 series x 11000 points", "ui_dense", DENSE_SERIES, DENSE_RANGE, DENSE_STEP),
]

# Drawn when every series is on the chart: ours sets data-series on the panel;
# Prometheus's classic UI draws one SVG path per series.
READY = {
    "ours": "const p = document.querySelector('.query-panel'); return p && p.querySelector('.u-over') && Number(p.getAttribute('data-series'))",
    "prometheus": "return document.querySelectorAll('#graph_wrapper0 .graph svg path.line, #graph_wrapper0 .graph svg path.area').length || "
                  "document.querySelectorAll('#graph_wrapper0 .graph svg path').length",
}

# Runs in the page before its own scripts; records the first frame at which
# the check passes in window.__drawn as [performance.now(), series seen].
WATCH = """
if (location.pathname.endsWith('/graph')) {
  const check = new Function(%s), want = %d, limit = performance.now() + 120000;
  const tick = () => {
    let n = 0;
    try { n = Number(check()) || 0; } catch (e) { n = 0; }
    if (n >= want || performance.now() > limit) { window.__drawn = [performance.now(), n]; return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""

RESULT = """
const done = arguments[arguments.length - 1];
const poll = () => window.__drawn ? done(window.__drawn) : setTimeout(poll, 20);
poll();
"""


def write_data(path: Path) -> Workload:
    """Random walks: 2,000 series at 60 s over a day, 50 dense ones at 7 s."""
    rng = random.Random(42)
    samples = 0
    with path.open("w") as out:
        out.write("# TYPE ui_bench gauge\n")
        i = 0
        for group, count in GROUPS:
            for _ in range(count):
                v = rng.uniform(0, 100)
                for t in range(START, START + DAY + 1, 60):
                    v += rng.gauss(0, 1)
                    out.write(f'ui_bench{{g="{group}",i="{i:04d}"}} {v:.3f} {t}\n')
                    samples += 1
                i += 1
        out.write("# TYPE ui_dense gauge\n")
        for j in range(DENSE_SERIES):
            v = rng.uniform(0, 100)
            for t in range(START + DAY - DENSE_RANGE - 60, START + DAY + 1, 7):
                v += rng.gauss(0, 1)
                out.write(f'ui_dense{{i="{j:02d}"}} {v:.3f} {t}\n')
                samples += 1
        out.write("# EOF\n")
    return Workload(path=path, start_s=START, end_s=START + DAY, interval_s=60, samples=samples,
                    series=sum(c for _, c in GROUPS) + DENSE_SERIES)


def link(expr: str, range_s: int, step_s: int) -> str:
    end = START + DAY
    end_text = f"{__import__('time').strftime('%Y-%m-%d %H:%M:%S', __import__('time').gmtime(end))}"
    return "/graph?" + urllib.parse.urlencode({
        "g0.expr": expr, "g0.tab": "0", "g0.range_input": f"{range_s}s",
        "g0.end_input": end_text, "g0.step_input": str(step_s), "g0.moment_input": end_text,
    })


def draw_time(driver: Any, base: str, which: str, path: str, want: int) -> float:
    driver.get("about:blank")
    watcher = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                     {"source": WATCH % (json.dumps(READY[which]), want)})
    try:
        driver.get(base + path)
        ms, seen = driver.execute_async_script(RESULT)
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": watcher["identifier"]})
    if seen < want:
        raise RuntimeError(f"{which}: only {seen} of {want} series drawn for {path}")
    return float(ms)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not (prometheus and promtool and shutil.which("chromedriver")):
        print("needs the Debian packages 'prometheus', 'chromium' and 'chromium-driver'")
        return 1
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        workload = write_data(tmp / "ui.om")
        print(f"data: {workload.series} series, {workload.samples} samples", flush=True)
        with (
            prometheus_and_collector(tmp, workload, prometheus=prometheus, promtool=promtool) as pair,
            chromium(window="1400,1000", timeout_s=180) as driver,
        ):
            for name, expr, series, range_s, step_s in CASES:
                path = link(expr, range_s, step_s)
                # One unmeasured load each: the browser's and the servers' caches warm alike.
                draw_time(driver, pair.ours, "ours", path, series)
                draw_time(driver, pair.prometheus, "prometheus", path, series)
                ours, theirs = [], []
                for _ in range(args.repeat):
                    ours.append(draw_time(driver, pair.ours, "ours", path, series))
                    theirs.append(draw_time(driver, pair.prometheus, "prometheus", path, series))
                o, t = statistics.median(ours), statistics.median(theirs)
                print(f"{name:26} ours {o:8.0f} ms  prometheus {t:8.0f} ms  ratio {o / t:5.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
