"""A deterministic OpenMetrics workload with timestamps, shaped like a small web fleet.

Used by the differential test (our engine against a real Prometheus on the same
data) and by the query and storage benchmarks. Counters (with a reset),
classic histograms, float gauges with gaps, and a series that stops midway.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port, running

# Sample times sit near multiples of the interval, jittered by 20-200 ms like
# real scrapes (never by zero), and START_S is 7 s past a whole minute. Callers
# evaluate at times offset by half an interval, and subquery steps fall on whole
# minutes, so no evaluation time or window boundary coincides with a sample:
# the 2.x/3.x range-boundary change then cannot matter.
START_S = 1_750_000_027
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ROUTES = ("/", "/images/<id>", "/upload", "/api/search")
CODES = ("200", "404", "500")


@dataclass(frozen=True)
class Workload:
    path: Path
    start_s: float
    end_s: float
    interval_s: float
    samples: int
    series: int


def _ts(t: float) -> str:
    return f"{t:.3f}"


def write_workload(
    path: Path, *, duration_s: int = 2 * 3600, interval_s: int = 15, instances: int = 3, seed: int = 7
) -> Workload:
    rng = random.Random(seed)
    steps = duration_s // interval_s
    times = [START_S + i * interval_s + rng.choice((-1, 1)) * rng.uniform(0.02, 0.2) for i in range(steps)]
    lines: list[str] = []
    samples = 0
    series = 0

    lines += ["# HELP image_gallery_requests Requests served.", "# TYPE image_gallery_requests counter"]
    for inst in range(instances):
        for route in ROUTES:
            for code in CODES:
                weight = {"200": 5.0, "404": 0.7, "500": 0.1}[code] * (inst + 1)
                value = 0.0
                series += 1
                labels = f'code="{code}",instance="app-{inst}:8000",job="gallery",route="{route}"'
                for i, t in enumerate(times):
                    if inst == 1 and route == "/" and code == "200" and i == steps // 2:
                        value = 0.0  # a process restart: counter reset
                    value += float(rng.randint(0, int(weight * 10)))
                    lines.append(f"image_gallery_requests_total{{{labels}}} {value:g} {_ts(t)}")
                    samples += 1

    lines += ["# HELP http_request_duration_seconds Latency.", "# TYPE http_request_duration_seconds histogram"]
    for inst in range(instances):
        for route in ROUTES[:2]:
            base = f'instance="app-{inst}:8000",job="gallery",route="{route}"'
            counts = [0] * (len(BUCKETS) + 1)
            total = 0.0
            series += len(BUCKETS) + 3
            for t in times:
                for _ in range(rng.randint(0, 20)):
                    latency = rng.expovariate(1 / (0.05 * (inst + 1)))
                    total += latency
                    for b, bound in enumerate(BUCKETS):
                        if latency <= bound:
                            counts[b] += 1
                    counts[-1] += 1
                for b, bound in enumerate(BUCKETS):
                    lines.append(f'http_request_duration_seconds_bucket{{{base},le="{bound}"}} {counts[b]} {_ts(t)}')
                lines.append(f'http_request_duration_seconds_bucket{{{base},le="+Inf"}} {counts[-1]} {_ts(t)}')
                lines.append(f"http_request_duration_seconds_count{{{base}}} {counts[-1]} {_ts(t)}")
                lines.append(f"http_request_duration_seconds_sum{{{base}}} {total!r} {_ts(t)}")
                samples += len(BUCKETS) + 3

    lines += ["# HELP process_resident_memory_bytes Resident memory.", "# TYPE process_resident_memory_bytes gauge"]
    for inst in range(instances):
        value = 40e6 + inst * 5e6
        series += 1
        for i, t in enumerate(times):
            value += rng.gauss(0, 2e5)
            if inst == 2 and i > steps * 3 // 4:
                break  # this replica went away: its series stops
            if i % 37 == 5:
                continue  # a missed scrape
            lines.append(f'process_resident_memory_bytes{{instance="app-{inst}:8000",job="gallery"}} {value!r} {_ts(t)}')
            samples += 1

    lines += ["# HELP room_temperature_celsius Temperature.", "# TYPE room_temperature_celsius gauge"]
    for room in ("cellar", "attic"):
        series += 1
        value = -3.5 if room == "cellar" else 24.25
        for t in times:
            value += rng.choice((-0.25, 0.0, 0.25))
            lines.append(f'room_temperature_celsius{{job="sensors",room="{room}"}} {value:g} {_ts(t)}')
            samples += 1

    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")
    return Workload(path, START_S, times[-1], interval_s, samples, series)


EMPTY_CONFIG = "global:\n  scrape_interval: 15s\nscrape_configs: []\n"


@dataclass(frozen=True)
class ServerPair:
    prometheus: str
    ours: str
    workload: Workload


@contextmanager
def backfilled_prometheus(
    tmp: Path, workload: Workload, *, prometheus: str, promtool: str, flags: Sequence[str] = ()
) -> Iterator[str]:
    """The workload backfilled with promtool into a real Prometheus serving on
    127.0.0.1 for the duration of the block; yields its base URL."""
    config = tmp / "prometheus.yml"
    config.write_text(EMPTY_CONFIG)
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(workload.path), str(tmp / "prom")],
        check=True, capture_output=True, timeout=300,
    )
    port = free_port()
    cmd = [
        prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'prom'}",
        f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y", *flags,
    ]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, ready_url=f"{url}/-/ready", timeout=60):
        yield url


@contextmanager
def prometheus_and_collector(
    tmp: Path, workload: Workload, *, prometheus: str, promtool: str, flags: Sequence[str] = ()
) -> Iterator[ServerPair]:
    """The workload backfilled into a real Prometheus and imported into our collector,
    both serving their HTTP API on 127.0.0.1 for the duration of the block."""
    subprocess.run(
        [sys.executable, "-m", "metricslib", "import", "--no-progress", "--data-dir", str(tmp / "ours"), str(workload.path)],
        check=True, capture_output=True, timeout=600,
    )
    port = free_port()
    cmd = [
        sys.executable, "-m", "metricslib", "collector", "--config", str(tmp / "prometheus.yml"),
        "--data-dir", str(tmp / "ours"), "--listen", f"127.0.0.1:{port}", "--retention", "100y", *flags,
    ]
    our_url = f"http://127.0.0.1:{port}"
    with backfilled_prometheus(tmp, workload, prometheus=prometheus, promtool=promtool, flags=flags) as prom_url, running(
        cmd, ready_url=f"{our_url}/-/ready", timeout=60
    ):
        yield ServerPair(prom_url, our_url, workload)
