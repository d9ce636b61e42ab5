"""`make screenshots`: the pictures in docs/ui.md and docs/dashboards.md, taken from the running demo.

Starts ``examples/demo.py`` (the fleet, traffic, the collector and the
scenario board), lets it gather a couple of minutes of samples, then opens
each page in headless Chromium and saves a PNG under ``docs/images/``.
Needs Debian's ``chromium`` and ``chromium-driver``.

    python examples/screenshots.py [--warmup SECONDS] [--out docs/images]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = 'sum(image_gallery_requests_total{code="200"}) without(instance)'

# (file name, path, what must be on the page before the picture is taken)
PAGES = [
    ("dashboard.png", "/d/scenario?from=now-5m&to=now", "document.querySelectorAll('[data-series]').length >= 6"),
    ("graph.png", "/graph?" + urllib.parse.urlencode({
        "g0.expr": 'sum by (code) (rate(image_gallery_requests_total[1m]))', "g0.range_input": "5m", "g0.tab": "0",
        "g0.stacked": "1", "g1.expr": SCENARIO, "g1.range_input": "5m", "g1.tab": "1"}),
     "document.querySelectorAll('.query-panel[data-series]').length === 2"),
    ("targets.png", "/targets", "document.querySelector('#targets table') !== null"),
    ("alerts.png", "/alerts", "document.querySelector('#alerts') && document.querySelector('#alerts').childElementCount > 0"),
    ("tsdb-status.png", "/tsdb-status", "document.querySelectorAll('h2').length >= 2"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=float, default=120, help="seconds of traffic before the pictures")
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "images"))
    args = parser.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.Popen(
            [sys.executable, str(HERE / "demo.py"), "--port", "0", "--duration", str(args.warmup + 120),
             "--data-dir", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert demo.stdout is not None
            banner = ""
            while "Press Ctrl-C" not in banner:
                line = demo.stdout.readline()
                if not line:
                    raise SystemExit(f"screenshots: the demo did not start:\n{banner}")
                banner += line
            match = re.search(r"Open:\s+(http://\S+?)/d/", banner)
            assert match, banner
            base = match.group(1)
            print(f"screenshots: demo at {base}; gathering {args.warmup:.0f}s of samples", flush=True)
            time.sleep(args.warmup)
            options = webdriver.ChromeOptions()
            options.binary_location = "/usr/bin/chromium"
            for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1360,900", "--hide-scrollbars"):
                options.add_argument(flag)
            options.add_argument(f"--user-data-dir={tmp}/profile")
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            try:
                for name, path, ready in PAGES:
                    driver.get(base + path)
                    WebDriverWait(driver, 30).until(lambda d, r=ready: d.execute_script(f"return {r}"))
                    time.sleep(1)  # fonts and the last canvas frame
                    driver.save_screenshot(str(out / name))
                    print(f"screenshots: {out / name}", flush=True)
            finally:
                driver.quit()
        finally:
            demo.terminate()
            demo.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
