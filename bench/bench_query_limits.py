"""Hostile queries (issue 13): time, peak memory and /-/healthy latency, ours
against a real Prometheus 2.42 on the same data, in the same run.

The data (a few ``up`` series over 2 hours and 10,000 ``bench_series`` over
30 minutes, 15 s apart) is backfilled into Prometheus with promtool and
imported into our store. Both servers run with the same sample limit
(``--query.max-samples`` / ``--query-max-samples``); every case goes to
both, alternating (ours, Prometheus, ours, Prometheus, ...). While a query
runs, the server's resident memory is read from /proc every 20 ms and
``/-/healthy`` is asked every 50 ms on another connection; each server also
scrapes its own /metrics every second, and the longest gap between those
scrapes during the query shows whether scraping kept its schedule.

    .venv/bin/python bench/bench_query_limits.py [--repeat N] [--max-samples N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import free_port, running

START_S = 1_750_000_000
EMPTY_CONFIG = "global:\n  scrape_interval: 15s\n"
BOMB = 'label_replace(label_replace(vector(1),"a","aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!","",""),"b","$1","a","(a+)+")'


@dataclass
class Case:
    name: str
    path: str
    params: dict[str, str]
    repeat: int = 2


@dataclass
class Run:
    seconds: float
    status: int
    error: str
    peak_rss_mb: float
    healthy_ms: list[float] = field(default_factory=list)
    scrape_gap_s: float = float("nan")


def write_data(path: Path, series: int) -> None:
    with path.open("w") as fh:
        fh.write("# TYPE up gauge\n")
        for i in range(3):
            for k in range(2 * 240):
                fh.write(f'up{{job="node",instance="n{i}"}} 1 {START_S + k * 15}\n')
        fh.write("# TYPE bench_series counter\n")
        for i in range(series):
            for k in range(120):
                fh.write(f'bench_series_total{{job="bench",instance="i{i:05d}"}} {k} {START_S + 5400 + k * 15}\n')
        fh.write("# EOF\n")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def get(url: str, timeout: float = 300.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def run_once(base: str, pid: int, case: Case) -> Run:
    done = threading.Event()
    peak = [rss_mb(pid)]
    healthy: list[float] = []

    def watch_memory() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_mb(pid))

    def watch_health() -> None:
        while not done.wait(0.05):
            t0 = time.perf_counter()
            get(f"{base}/-/healthy", timeout=60)
            if not done.is_set():
                healthy.append((time.perf_counter() - t0) * 1000)

    watchers = [threading.Thread(target=watch_memory), threading.Thread(target=watch_health)]
    for w in watchers:
        w.start()
    t0, wall0 = time.perf_counter(), time.time()
    status, body = get(f"{base}{case.path}?{urllib.parse.urlencode(case.params)}")
    seconds = time.perf_counter() - t0
    done.set()
    for w in watchers:
        w.join()
    time.sleep(1.5)  # let the scrape after the query land
    gap = scrape_gap_s(base, wall0, wall0 + seconds)
    error = ""
    if status != 200:
        try:
            error = json.loads(body).get("error", "")[:60]
        except ValueError:
            error = body[:60].decode("utf-8", "replace")
    return Run(seconds, status, error, peak[0], healthy, gap)


def self_scrape_config(path: Path, port: int) -> Path:
    """Each server scrapes its own /metrics every second: the gaps between its
    ``up`` samples show whether scrapes keep their schedule during a query."""
    path.write_text(
        EMPTY_CONFIG + "scrape_configs:\n  - job_name: self\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    return path


def scrape_gap_s(base: str, since_s: float, until_s: float) -> float:
    """The longest time between two self-scrapes (``up`` samples) in [since, until]."""
    window = max(2, int(until_s - since_s) + 3)
    params = {"query": f'up{{job="self"}}[{window}s]', "time": f"{until_s + 1:.3f}"}
    status, body = get(f"{base}/api/v1/query?{urllib.parse.urlencode(params)}", timeout=60)
    if status != 200:
        return float("nan")
    result = json.loads(body)["data"]["result"]
    times = sorted(float(t) for series in result for t, _ in series["values"])
    times = [t for t in times if t >= since_s - 1.5]
    return max((b - a for a, b in pairwise(times)), default=float("nan"))


@contextmanager
def servers(tmp: Path, max_samples: int) -> Iterator[tuple[tuple[str, int], tuple[str, int]]]:
    ours_port, prom_port = free_port(), free_port()
    config = self_scrape_config(tmp / f"ours-{ours_port}.yml", ours_port)
    prom_config = self_scrape_config(tmp / f"prom-{prom_port}.yml", prom_port)
    ours_cmd = [
        sys.executable, "-m", "metricslib", "collector", "--config", str(config), "--data-dir", str(tmp / "ours"),
        "--listen", f"127.0.0.1:{ours_port}", "--retention", "100y", "--query-max-samples", str(max_samples),
    ]  # fmt: skip
    prom_cmd = [
        "prometheus", f"--config.file={prom_config}", f"--storage.tsdb.path={tmp / 'prom'}",
        f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=100y",
        f"--query.max-samples={max_samples}",
    ]  # fmt: skip
    with ExitStack() as stack:
        ours = stack.enter_context(running(ours_cmd, ready_url=f"http://127.0.0.1:{ours_port}/-/ready", timeout=120))
        prom = stack.enter_context(running(prom_cmd, ready_url=f"http://127.0.0.1:{prom_port}/-/ready", timeout=120))
        yield (f"http://127.0.0.1:{ours_port}", ours.pid), (f"http://127.0.0.1:{prom_port}", prom.pid)


def cases(limited: bool, max_samples: int) -> list[Case]:
    at = str(START_S + 2 * 3600 - 7.5)
    end = START_S + 5400 + 1790
    rng = {"start": str(end - 600), "end": str(end), "step": "1"}
    if limited:
        return [
            Case(f"10k series, 10 min at 1 s (limit {max_samples:,})", "/api/v1/query_range",
                 {"query": "bench_series_total", **rng}),
            Case(f"rate(10k series[5m]), 10 min at 1 s (limit {max_samples:,})", "/api/v1/query_range",
                 {"query": "rate(bench_series_total[5m])", **rng}),
        ]  # fmt: skip
    return [
        Case("regex bomb, timeout=1s", "/api/v1/query", {"query": BOMB, "time": at, "timeout": "1s"}, 3),
        Case("max_over_time(up[1d:1ms]), timeout=5s", "/api/v1/query",
             {"query": "max_over_time(up[1d:1ms])", "time": at, "timeout": "5s"}),
        Case("vector(1)[1y:1s], timeout=5s", "/api/v1/query",
             {"query": "vector(1)[1y:1s]", "time": at, "timeout": "5s"}, 1),
        Case("heaviest allowed: rate(10k series[5m]), 10 min at 1 s", "/api/v1/query_range",
             {"query": "rate(bench_series_total[5m])", **rng}),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=0, help="runs per case and server (default: per case)")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--max-samples", type=int, default=1_000_000)
    args = parser.parse_args()
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        print("needs the Debian package 'prometheus' (prometheus and promtool)")
        return 1
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "data.om"
        write_data(data, args.series)
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(data), str(tmp / "prom")],
                       check=True, capture_output=True, timeout=1800)  # fmt: skip
        subprocess.run([sys.executable, "-m", "metricslib", "import", "--no-progress", "--data-dir", str(tmp / "ours"),
                        str(data)], check=True, capture_output=True, timeout=1800)  # fmt: skip
        print("| case | server | time (s) | answer | peak RSS (MB) | /-/healthy meanwhile (ms, median / max) "
              "| longest gap between 1 s self-scrapes (s) |")
        print("|---|---|---|---|---|---|---|")
        for limited, limit in ((False, 50_000_000), (True, args.max_samples)):
            with servers(tmp, limit) as ((ours, ours_pid), (prom, prom_pid)):
                for case in cases(limited, limit):
                    run_case(case, args.repeat, ours, ours_pid, prom, prom_pid)
    return 0


def run_case(case: Case, repeat: int, ours: str, ours_pid: int, prom: str, prom_pid: int) -> None:
    runs: dict[str, list[Run]] = {"ours": [], "Prometheus 2.42": []}
    for _ in range(repeat or case.repeat):
        runs["ours"].append(run_once(ours, ours_pid, case))
        runs["Prometheus 2.42"].append(run_once(prom, prom_pid, case))
    for who, rs in runs.items():
        secs = statistics.median(r.seconds for r in rs)
        peak = max(r.peak_rss_mb for r in rs)
        answer = ", ".join(sorted({f"{r.status} {r.error}".strip() for r in rs}))
        healthy = [h for r in rs for h in r.healthy_ms]
        h = f"{statistics.median(healthy):.1f} / {max(healthy):.1f}" if healthy else "n/a (query too short)"
        gap = max(r.scrape_gap_s for r in rs)
        print(f"| {case.name} | {who} | {secs:.2f} | {answer} | {peak:.0f} | {h} | {gap:.1f} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
