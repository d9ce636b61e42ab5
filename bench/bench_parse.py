"""Parse throughput for repeated scrapes of one target: metricslib vs prometheus_client.

The body is what a busy web service exposes, rendered by prometheus_client
itself: labelled request counters (with their ``_created`` lines), request
duration histograms and gauges, 2,280 samples. Two kinds of repeated scrape:

* ``same body``: the identical body every time (the brief's setting);
* ``moving body``: a cycle of 16 bodies in which every counter, histogram and
  gauge moved between scrapes, so only genuinely constant lines (``_created``,
  untouched buckets) repeat. This is the honest number for a live target.

Ours is :class:`ScrapeParser` with the scrape loop's ``known`` series (warm),
a fresh parser with nothing known (a target's first scrape), and the full
validating :func:`parse_families`. Theirs is
``prometheus_client.parser.text_string_to_metric_families`` (text) and
``prometheus_client.openmetrics.parser.text_string_to_metric_families``, on
the same bodies in the same run. Rates are samples per CPU-second, best of
interleaved rounds, because the machine is shared.

Run: .venv/bin/python bench/bench_parse.py [--quick]
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from metricslib.collector.textparse.formats import ScrapeParser, parse_families

N_BODIES = 16


def build_bodies(n: int) -> tuple[list[str], list[str]]:
    """``n`` successive scrapes of one registry, every instrument moving in between."""
    reg = CollectorRegistry()
    requests = Counter("http_requests", "Requests handled.", ["method", "handler", "code"], registry=reg)
    duration = Histogram(
        "http_request_duration_seconds", "Request latency.", ["method", "handler"], registry=reg
    )
    inflight = Gauge("http_requests_in_flight", "In flight.", ["handler"], registry=reg)
    texts, oms = [], []
    for step in range(n):
        for h in range(40):
            handler = f"/api/v1/resource_{h}/{{id}}"
            inflight.labels(handler).set((h + step) % 7)
            for method in ("GET", "POST"):
                duration.labels(method, handler).observe(0.01 * (h + 1) * (step + 1))
                for code in ("200", "201", "400", "404", "500"):
                    requests.labels(method, handler, code).inc(h * 13 + len(code) + step)
        texts.append(generate_latest(reg).decode())
        oms.append(generate_om(reg).decode())
    return texts, oms


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Samples per CPU-second over repeated calls for about ``seconds``."""
    n = samples = 0
    start = time.process_time()
    while True:
        samples += fn()
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= seconds and n >= 3:
            return samples / elapsed


def best_rates(fns: list[Callable[[], int]], seconds: float, rounds: int) -> list[float]:
    """Best rate of each, in interleaved rounds so a noisy moment hits all alike."""
    best = [0.0] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = max(best[i], rate(fn, seconds))
    return best


def cycle(bodies: list[str]) -> Callable[[], str]:
    it = itertools.cycle(bodies)
    return lambda: next(it)


def theirs(bodies: list[str], fmt: str) -> Callable[[], int]:
    parse = text_families if fmt == "text" else om_families
    nxt = cycle(bodies)
    return lambda: sum(len(f.samples) for f in parse(nxt()))


def scraper(bodies: list[str], fmt: str) -> Callable[[], int]:
    parser = ScrapeParser()
    known: dict[str, object] = {}
    nxt = cycle(bodies)

    def run() -> int:
        res = parser.parse(nxt(), fmt, known)  # type: ignore[arg-type]
        for key in res.new_series:  # what the scrape loop's label cache does
            known[key] = key
        return len(res.samples)

    run()  # the target's first scrape fills ``known``
    return run


def first_scrape(bodies: list[str], fmt: str) -> Callable[[], int]:
    nxt = cycle(bodies)
    return lambda: len(ScrapeParser().parse(nxt(), fmt, {}).samples)  # type: ignore[arg-type]


def full(bodies: list[str], fmt: str) -> Callable[[], int]:
    nxt = cycle(bodies)
    return lambda: sum(len(f.samples) for f in parse_families(nxt(), fmt))  # type: ignore[arg-type]


def main() -> None:
    quick = "--quick" in sys.argv
    seconds, rounds = (0.2, 1) if quick else (0.5, 3)
    texts, oms = build_bodies(N_BODIES)
    n = sum(1 for line in texts[0].splitlines() if line and not line.startswith("#"))
    print(f"body: {n} samples, {len(texts[0]) / 1024:.0f} KiB; rates in samples per CPU-second")
    print(f"{'format':<12} {'ours':<32} {'samples/s':>11} {'theirs':>9} {'ours/theirs':>12}")
    for fmt, bodies in (("text", texts), ("openmetrics", oms)):
        cases = [
            ("scrape, same body", [bodies[-1]], scraper),
            ("scrape, moving body", bodies, scraper),
            ("first scrape (nothing known)", bodies, first_scrape),
            ("parse_families" + (" (strict)" if fmt != "text" else ""), bodies, full),
        ]
        fns: list[Callable[[], int]] = []
        for _, bs, make in cases:
            fns += [make(bs, fmt), theirs(bs, fmt)]
        rates = best_rates(fns, seconds, rounds)
        for i, (what, _, _) in enumerate(cases):
            ours, base = rates[2 * i], rates[2 * i + 1]
            print(f"{fmt:<12} {what:<32} {ours:>11,.0f} {base:>9,.0f} {ours / base:>11.1f}x")


if __name__ == "__main__":
    main()
