"""PromQL latency: our collector against a real Prometheus on the same data, same run.

The workload (tests/collector/workload.py) is backfilled into Prometheus with
promtool and imported into our store; each query is sent to both HTTP APIs
by the same client over one persistent (keep-alive) connection per server, as
Grafana does, alternating, and we report the median latency of each query and
the ratio (ours / Prometheus) for short (10 minutes at a 10 s step) and long
(1 hour at a 15 s step) range queries, plus instant queries, with the median
ratio and the worst query of each class.

    .venv/bin/python bench/bench_query.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.keepalive import KeepAlive
from tests.collector.workload import prometheus_and_collector, write_workload

QUERIES = {
    "selector": 'image_gallery_requests_total{code="200"}',
    "sum rate": "sum by (route) (rate(image_gallery_requests_total[5m]))",
    "scenario": 'sum(image_gallery_requests_total{code="200"}) without(instance)',
    "p95": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "ratio": "sum by (instance) (rate(image_gallery_requests_total{code=\"500\"}[5m])) / sum by (instance) (rate(image_gallery_requests_total[5m]))",
    "over_time": "avg_over_time(process_resident_memory_bytes[10m])",
}


def measure(a: KeepAlive, b: KeepAlive, path: str, params: dict[str, str], repeat: int) -> tuple[float, float]:
    target = f"{path}?{urllib.parse.urlencode(params)}"
    a_times, b_times = [], []
    for _ in range(2):  # warm both caches the same way
        a.timed_get(target)
        b.timed_get(target)
    for _ in range(repeat):
        a_times.append(a.timed_get(target))
        b_times.append(b.timed_get(target))
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
            ours_conn, theirs_conn = KeepAlive(pair.ours), KeepAlive(pair.prometheus)
            end = workload.start_s + args.hours * 3600 - 592.5
            rows = []
            for label, span, step in (("instant", 0, ""), ("short 10m/10s", 600, "10"), ("long 1h/15s", 3600, "15")):
                for name, expr in QUERIES.items():
                    if span == 0:
                        path, params = "/api/v1/query", {"query": expr, "time": f"{end:.3f}"}
                    else:
                        path = "/api/v1/query_range"
                        params = {"query": expr, "start": f"{end - span:.3f}", "end": f"{end:.3f}", "step": step}
                    ours, theirs = measure(ours_conn, theirs_conn, path, params, args.repeat)
                    rows.append((label, name, ours, theirs))
                    print(f"{label:14} {name:10} ours {ours * 1000:7.2f} ms  prometheus {theirs * 1000:7.2f} ms  ratio {ours / theirs:5.2f}", flush=True)
            ours_conn.close()
            theirs_conn.close()
            for label in ("instant", "short 10m/10s", "long 1h/15s"):
                ratios = {name: o / t for lab, name, o, t in rows if lab == label}
                worst = max(ratios, key=lambda n: ratios[n])
                print(f"{label}: median ratio {statistics.median(ratios.values()):.2f}, worst {ratios[worst]:.2f} ({worst})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
