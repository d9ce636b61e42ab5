"""PromQL latency: our collector against a real Prometheus on the same data, same run.

The workload (tests/collector/workload.py) is backfilled into Prometheus with
promtool and imported into our store; each query is sent to both HTTP APIs
by the same client, alternating, and we report the median latency ratio
(ours / Prometheus) for short (10 minutes at a 10 s step) and long (1 hour at
a 15 s step) range queries, plus instant queries.

    .venv/bin/python bench/bench_query.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.collector.workload import prometheus_and_collector, write_workload

QUERIES = {
    "selector": 'image_gallery_requests_total{code="200"}',
    "sum rate": "sum by (route) (rate(image_gallery_requests_total[5m]))",
    "scenario": 'sum(image_gallery_requests_total{code="200"}) without(instance)',
    "p95": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "ratio": "sum by (instance) (rate(image_gallery_requests_total{code=\"500\"}[5m])) / sum by (instance) (rate(image_gallery_requests_total[5m]))",
    "over_time": "avg_over_time(process_resident_memory_bytes[10m])",
}


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url} answered {resp.status}")
    return time.perf_counter() - started


def measure(base_a: str, base_b: str, path: str, params: dict[str, str], repeat: int) -> tuple[float, float]:
    query = urllib.parse.urlencode(params)
    a_times, b_times = [], []
    for _ in range(2):  # warm both caches the same way
        timed_get(f"{base_a}{path}?{query}")
        timed_get(f"{base_b}{path}?{query}")
    for _ in range(repeat):
        a_times.append(timed_get(f"{base_a}{path}?{query}"))
        b_times.append(timed_get(f"{base_b}{path}?{query}"))
    return statistics.median(a_times), statistics.median(b_times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--hours", type=int, default=6)
    args = parser.parse_args()
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("needs the Debian package 'prometheus' (prometheus and promtool)")
        return 1
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        workload = write_workload(tmp / "data.om", duration_s=args.hours * 3600, instances=5)
        print(f"workload: {workload.series} series, {workload.samples} samples over {args.hours} h")
        with prometheus_and_collector(tmp, workload, prometheus=prometheus, promtool=promtool) as pair:
            end = workload.start_s + args.hours * 3600 - 592.5
            rows = []
            for label, span, step in (("instant", 0, ""), ("short 10m/10s", 600, "10"), ("long 1h/15s", 3600, "15")):
                for name, expr in QUERIES.items():
                    if span == 0:
                        path, params = "/api/v1/query", {"query": expr, "time": f"{end:.3f}"}
                    else:
                        path = "/api/v1/query_range"
                        params = {"query": expr, "start": f"{end - span:.3f}", "end": f"{end:.3f}", "step": step}
                    ours, theirs = measure(pair.ours, pair.prometheus, path, params, args.repeat)
                    rows.append((label, name, ours, theirs))
                    print(f"{label:14} {name:10} ours {ours * 1000:7.2f} ms  prometheus {theirs * 1000:7.2f} ms  ratio {ours / theirs:5.2f}", flush=True)
            for label in ("instant", "short 10m/10s", "long 1h/15s"):
                ratios = [o / t for lab, _, o, t in rows if lab == label]
                print(f"{label}: median ratio {statistics.median(ratios):.2f}, worst {max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
