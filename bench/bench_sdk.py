"""SDK hot path and exposition: metricslib vs prometheus_client, same run, ratios.

    .venv/bin/python bench/bench_sdk.py

Each case is timed with ``timeit`` on the thread's CPU clock, alternating
ours and theirs, keeping the best of several repeats; the ratio is ours /
theirs, lower is better. prometheus_client runs with
``disable_created_metrics()`` so both expose the same samples.
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import prometheus_client as pc

import metricslib as ml

pc.disable_created_metrics()

# Many short runs: on a busy machine the minimum finds the quiet moments.
REPEATS = 15


def timed(fn: Callable[[], object], number: int) -> float:
    # CPU time of this thread: on a shared, busy machine wall time mostly measures the neighbours.
    return timeit.Timer(fn, timer=time.thread_time).timeit(number=number) / number


def case(name: str, ours: Callable[[], object], theirs: Callable[[], object], number: int, target: float | None) -> bool:
    """Time both sides alternately (so load spikes hit both) and compare the best runs."""
    timed(ours, max(1, number // 10))  # warm up
    timed(theirs, max(1, number // 10))
    t_ours = t_theirs = float("inf")
    for _ in range(REPEATS):
        t_ours = min(t_ours, timed(ours, number))
        t_theirs = min(t_theirs, timed(theirs, number))
    ratio = t_ours / t_theirs
    unit, scale = ("ms", 1e3) if t_theirs > 1e-4 else ("ns", 1e9)
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  MISSES target {target}")
    print(
        f"{name:<44} ours {t_ours * scale:9.1f} {unit}   prometheus_client {t_theirs * scale:9.1f} {unit}"
        f"   ratio {ratio:5.2f}{'' if target is None else f' (target <= {target})'}{verdict}",
        flush=True,
    )
    return target is None or ratio <= target


def main() -> int:
    ml_reg, pc_reg = ml.Registry(), pc.CollectorRegistry()
    ok = True

    ml_c = ml.Counter("requests", "Requests", ["method", "code"], registry=ml_reg)
    pc_c = pc.Counter("requests", "Requests", ["method", "code"], registry=pc_reg)
    ml_child, pc_child = ml_c.labels("GET", "200"), pc_c.labels("GET", "200")
    ok &= case("cached child inc()", ml_child.inc, pc_child.inc, 50_000, 0.4)
    ok &= case(
        'labels("GET", "200").inc()',
        lambda: ml_c.labels("GET", "200").inc(),
        lambda: pc_c.labels("GET", "200").inc(),
        50_000,
        0.3,
    )
    ml_h = ml.Histogram("latency_seconds", "Latency", registry=ml_reg)
    pc_h = pc.Histogram("latency_seconds", "Latency", registry=pc_reg)
    # partial() instead of a lambda: less harness overhead diluting both sides.
    ok &= case("Histogram.observe(0.3)", partial(ml_h.observe, 0.3), partial(pc_h.observe, 0.3), 50_000, 0.4)

    ml_u = ml.Counter("jobs", "Jobs", registry=ml_reg)
    pc_u = pc.Counter("jobs", "Jobs", registry=pc_reg)
    case("unlabelled Counter.inc()", ml_u.inc, pc_u.inc, 50_000, None)
    ml_g = ml.Gauge("in_flight", "In flight", registry=ml_reg)
    pc_g = pc.Gauge("in_flight", "In flight", registry=pc_reg)
    case("Gauge.set(3)", partial(ml_g.set, 3), partial(pc_g.set, 3), 50_000, None)
    case("Gauge.inc()", ml_g.inc, pc_g.inc, 50_000, None)
    ml_s = ml.Summary("size_bytes", "Size", registry=ml_reg)
    pc_s = pc.Summary("size_bytes", "Size", registry=pc_reg)
    case("Summary.observe(10) (no quantiles)", partial(ml_s.observe, 10), partial(pc_s.observe, 10), 50_000, None)

    big_ml, big_pc = ml.Registry(), pc.CollectorRegistry()
    ml_big = ml.Counter("http_requests", "Requests", ["path", "code"], registry=big_ml)
    pc_big = pc.Counter("http_requests", "Requests", ["path", "code"], registry=big_pc)
    ml_children = [ml_big.labels(f"/api/item/{i}", str(200 + i % 5)) for i in range(10_000)]
    pc_children = [pc_big.labels(f"/api/item/{i}", str(200 + i % 5)) for i in range(10_000)]
    for i in range(10_000):
        ml_children[i].inc(i)
        pc_children[i].inc(i)
    assert ml.generate_latest(big_ml) == pc.generate_latest(big_pc), "outputs differ"
    ok &= case(
        "generate_latest, 10,000 labelled counters",
        lambda: ml.generate_latest(big_ml),
        lambda: pc.generate_latest(big_pc),
        2,
        0.1,
    )

    def bump_all(children: list[Any]) -> None:
        for child in children:
            child.inc()

    # Middleware touches many series: memory access, not call overhead, dominates here.
    case(
        "inc() on each of 10,000 cached children",
        lambda: bump_all(ml_children),
        lambda: bump_all(pc_children),
        5,
        None,
    )

    # Every value changes between scrapes: no rendered line can be reused.
    case(
        "  same, every series changed since last scrape",
        lambda: (bump_all(ml_children), ml.generate_latest(big_ml)),
        lambda: (bump_all(pc_children), pc.generate_latest(big_pc)),
        2,
        None,
    )
    big_ml.set_default_labels({"hostname": "web-1"})
    case(
        "  same, with a default label (theirs: none)",
        lambda: ml.generate_latest(big_ml),
        lambda: pc.generate_latest(big_pc),
        2,
        None,
    )
    big_ml.set_default_labels({})
    big_ml.created_samples = False  # prometheus_client runs with _created disabled too
    from prometheus_client.openmetrics import exposition as pc_om

    case(
        "OpenMetrics, 10,000 labelled counters",
        lambda: ml.generate_openmetrics(big_ml),
        lambda: pc_om.generate_latest(big_pc),
        2,
        None,
    )
    hist_ml, hist_pc = ml.Registry(), pc.CollectorRegistry()
    ml_hist = ml.Histogram("request_seconds", "Latency", ["route"], registry=hist_ml)
    pc_hist = pc.Histogram("request_seconds", "Latency", ["route"], registry=hist_pc)
    for i in range(1_000):
        for v in (0.003, 0.2, 4.0):
            ml_hist.labels(f"/r/{i}").observe(v)
            pc_hist.labels(f"/r/{i}").observe(v)
    assert ml.generate_latest(hist_ml) == pc.generate_latest(hist_pc), "histogram outputs differ"
    case(
        "generate_latest, 1,000 labelled histograms",
        lambda: ml.generate_latest(hist_ml),
        lambda: pc.generate_latest(hist_pc),
        2,
        None,
    )
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
