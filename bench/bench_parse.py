"""Parse throughput for repeated scrapes of one body: metricslib vs prometheus_client.

The body is what a busy web service exposes (rendered by prometheus_client
itself): labelled request counters, request-duration histograms and a few
gauges, about 3,000 series. Each round parses the same body, as a scrape loop
does every interval. Reported: samples per second, and ratios against
``prometheus_client.parser.text_string_to_metric_families`` (text) and
``prometheus_client.openmetrics.parser.text_string_to_metric_families``.

Run: .venv/bin/python bench/bench_parse.py [--quick]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from metricslib.collector.parse import ScrapeParser, parse_families


def build_body() -> tuple[str, str]:
    reg = CollectorRegistry()
    requests = Counter(
        "http_requests", "Requests handled.", ["method", "handler", "code"], registry=reg
    )
    duration = Histogram(
        "http_request_duration_seconds", "Request latency.", ["method", "handler"], registry=reg
    )
    inflight = Gauge("http_requests_in_flight", "In flight.", ["handler"], registry=reg)
    for h in range(40):
        handler = f"/api/v1/resource_{h}/{{id}}"
        inflight.labels(handler).set(h % 7)
        for method in ("GET", "POST"):
            duration.labels(method, handler).observe(0.01 * (h + 1))
            for code in ("200", "201", "400", "404", "500"):
                requests.labels(method, handler, code).inc(h * 13 + len(code))
    return generate_latest(reg).decode(), generate_om(reg).decode()


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Samples per second over repeated calls for about ``seconds``."""
    fn()  # warm up (and fill caches, as after a target's first scrape)
    n = 0
    samples = 0
    start = time.perf_counter()
    while True:
        samples += fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return samples / elapsed


def main() -> None:
    seconds = 0.5 if "--quick" in sys.argv else 3.0
    text, om = build_body()
    n_lines = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    print(f"body: {n_lines} samples; text {len(text) / 1024:.0f} KiB, OpenMetrics {len(om) / 1024:.0f} KiB")

    def theirs_text() -> int:
        return sum(len(f.samples) for f in text_families(text))

    def theirs_om() -> int:
        return sum(len(f.samples) for f in om_families(om))

    def scraper(body: str, fmt: str) -> Callable[[], int]:
        parser = ScrapeParser()
        known: dict[str, object] = {}

        def run() -> int:
            res = parser.parse(body, fmt, known)  # type: ignore[arg-type]
            for key in res.new_series:
                known[key] = key
            return len(res.samples)

        return run

    def cold(body: str, fmt: str) -> Callable[[], int]:
        def run() -> int:
            return len(ScrapeParser().parse(body, fmt, {}).samples)  # type: ignore[arg-type]

        return run

    def full(body: str, fmt: str) -> Callable[[], int]:
        def run() -> int:
            return sum(len(f.samples) for f in parse_families(body, fmt))  # type: ignore[arg-type]

        return run

    rows = [
        ("text", theirs_text, [("scrape, known series", scraper(text, "text")),
                               ("scrape, first time", cold(text, "text")),
                               ("parse_families", full(text, "text"))]),
        ("openmetrics", theirs_om, [("scrape, known series", scraper(om, "openmetrics")),
                                    ("scrape, first time", cold(om, "openmetrics")),
                                    ("parse_families (strict)", full(om, "openmetrics"))]),
    ]
    print(f"{'format':<12} {'what':<26} {'samples/s':>12} {'prometheus_client':>18} {'speed-up':>9}")
    for fmt, theirs, ours in rows:
        base = rate(theirs, seconds)
        for what, fn in ours:
            r = rate(fn, seconds)
            print(f"{fmt:<12} {what:<26} {r:>12,.0f} {base:>18,.0f} {r / base:>8.1f}x")


if __name__ == "__main__":
    main()
