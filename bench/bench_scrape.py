"""Scrape ingestion cost: metricslib's scrape loop vs Prometheus 2.42, same target, same run.

One target on 127.0.0.1 (a static file served by ``python -m http.server``, in
its own process) exposes N series of a busy web service. Both scrapers fetch
it, parse it, attach target labels, apply a metric relabel rule, write
staleness bookkeeping and append to their store:

* ours: :class:`metricslib.collector.scrape.loop.ScrapeLoop` into the real store
  (``open_storage``), K scrapes back to back, CPU time of this process
  (store flush thread included);
* theirs: ``prometheus`` (Debian 2.42) scraping the same URL every second;
  CPU from ``/proc/<pid>/stat`` and samples from its own
  ``prometheus_tsdb_head_samples_appended_total`` over a measured window.

We report CPU microseconds per ingested sample and the ratio ours/theirs
(lower is better). Prometheus is Go with a decade of tuning; the number says
how far a pure-Python collector is from it, not that it is faster.

Run: .venv/bin/python bench/bench_scrape.py [--quick]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from metricslib.collector.config.config import parse_config  # noqa: E402
from metricslib.collector.discovery.targetgroup import TargetGroup  # noqa: E402
from metricslib.collector.scrape.loop import ScrapeLoop  # noqa: E402
from metricslib.collector.scrape.targets import build_targets  # noqa: E402
from metricslib.collector.storage import open_storage  # noqa: E402
from metricslib.collector.storage.remote.write import ForwardingStorage  # noqa: E402

QUICK = "--quick" in sys.argv
N_ROUTES = 100 if QUICK else 400
SCRAPES = 10 if QUICK else 20
PROM_WINDOW_S = 8 if QUICK else 15


def body() -> str:
    lines = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"]
    for r in range(N_ROUTES):
        for method in ("GET", "POST"):
            for code in ("200", "404", "500"):
                lines.append(f'http_requests_total{{code="{code}",method="{method}",route="/api/r{r}"}} {r * 7 + 1}')
    lines += ["# HELP http_request_duration_seconds Latency.", "# TYPE http_request_duration_seconds histogram"]
    for r in range(N_ROUTES):
        for le in ("0.01", "0.1", "1.0", "+Inf"):
            lines.append(f'http_request_duration_seconds_bucket{{le="{le}",route="/api/r{r}"}} {r}')
        lines.append(f'http_request_duration_seconds_sum{{route="/api/r{r}"}} {r * 0.5}')
        lines.append(f'http_request_duration_seconds_count{{route="/api/r{r}"}} {r}')
    return "\n".join(lines) + "\n"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


SCRAPE_CONFIG = """
scrape_configs:
  - job_name: bench
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /metrics.txt
    static_configs: [{{targets: ["127.0.0.1:{port}"], labels: {{env: bench}}}}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
"""


def ours(port: int, tmp: Path) -> tuple[float, int]:
    sc = parse_config(SCRAPE_CONFIG.format(port=port), "bench.yml").scrape_configs[0]
    # Wrapped as server.py wraps it, so the benchmark sees what users run.
    storage = ForwardingStorage(open_storage(tmp / "ours", flush_interval_s=5.0), [])
    now = [time.time()]
    targets, _ = build_targets(sc, [TargetGroup("b", ((("__address__", f"127.0.0.1:{port}"),),))])
    from metricslib.collector.scrape.transport import HTTPTransport

    loop = ScrapeLoop(targets[0], sc, storage, HTTPTransport(), clock=lambda: now[0])
    for _ in range(2):  # warm: first scrape creates every series
        now[0] += 1
        assert loop.scrape_once(), loop.target.last_error
    cpu = time.process_time()
    for _ in range(SCRAPES):
        now[0] += 1
        assert loop.scrape_once(), loop.target.last_error
    storage.close()  # the final flush is part of ingesting
    used = time.process_time() - cpu
    samples = int(SCRAPES * (N_ROUTES * 6 + N_ROUTES * 6 + 5))
    return used, samples


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def appended(url: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    m = re.search(r"^prometheus_tsdb_head_samples_appended_total(?:\{[^}]*\})? (\S+)$", text, re.M)
    assert m is not None, "prometheus_tsdb_head_samples_appended_total not exposed"
    return float(m.group(1))


def theirs(port: int, tmp: Path) -> tuple[float, int] | None:
    binary = shutil.which("prometheus")
    if binary is None:
        print("prometheus not installed (Debian package 'prometheus'): skipping the comparison")
        return None
    config = tmp / "prometheus.yml"
    config.write_text(SCRAPE_CONFIG.format(port=port))
    web = free_port()
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'prom'}",
                             f"--web.listen-address=127.0.0.1:{web}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        metrics = f"http://127.0.0.1:{web}/metrics"
        wait_http(f"http://127.0.0.1:{web}/-/ready")
        time.sleep(8)  # discovery hands targets over after ~5s; then the series are created
        cpu0, n0 = proc_cpu(proc.pid), appended(metrics)
        time.sleep(PROM_WINDOW_S)
        cpu1, n1 = proc_cpu(proc.pid), appended(metrics)
        return cpu1 - cpu0, int(n1 - n0)
    finally:
        stop(proc)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "www").mkdir()
        (tmp / "www" / "metrics.txt").write_text(body())
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                                   str(tmp / "www"), str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/metrics.txt")
            series = N_ROUTES * 12
            print(f"target: {series} series (+5 synthetic per scrape)")
            our_cpu, our_samples = ours(port, tmp)
            our_us = our_cpu / our_samples * 1e6
            print(f"ours   : {our_samples:>8} samples, {our_cpu:6.2f} CPU-s, {our_us:6.2f} us/sample")
            result = theirs(port, tmp)
            if result is not None:
                prom_cpu, prom_samples = result
                prom_us = prom_cpu / max(prom_samples, 1) * 1e6
                print(f"theirs : {prom_samples:>8} samples, {prom_cpu:6.2f} CPU-s, {prom_us:6.2f} us/sample "
                      f"(prometheus 2.42, {PROM_WINDOW_S}s window)")
                print(f"ratio ours/theirs (CPU per sample, lower is better): {our_us / prom_us:.1f}x")
        finally:
            stop(server)


if __name__ == "__main__":
    main()
