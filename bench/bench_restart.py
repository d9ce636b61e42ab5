"""Shutdown and restart: our collector process against a real Prometheus 2.42 that
scraped the same targets for the same time.

Both servers run as users run them, on 127.0.0.1 with fresh data directories
and the same config, scraping ``bench_capacity``'s targets (one process, one
port per 2,000 counter series). After ``--minutes`` of ingestion, per round
and per server in turn (ours, then Prometheus, so only one of them restarts
at a time):

- the query ``sum(rate(x[5m])) by (job)`` once, as the reference answer;
- SIGTERM to exit: wall time, and CPU from ``/proc/PID/stat`` before the
  signal and the exited child's rusage (``os.wait4``);
- restart on the same data directory to ``/-/ready`` answering 200: wall
  time and CPU;
- the first query after ``/-/ready`` and a second one: wall time and the
  server's CPU over each, and whether the first answered the same series
  (its value moves with the data, so only the label sets are compared).

    .venv/bin/python bench/bench_restart.py [--series 50000] [--minutes 2]
        [--interval 5] [--rounds 1] [--max-minutes 30]

Every process is stopped by its PID; the whole run is bounded by
``--max-minutes``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_capacity
from bench.bench_capacity import (
    QUERY,
    SERIES_PER_TARGET,
    config_text,
    cpu_seconds,
    distinct_ports,
    ratio,
    wait_for_targets,
)

SERVERS = ("ours", "prometheus")


@dataclass
class Round:
    shutdown_s: dict[str, float] = field(default_factory=dict)
    shutdown_cpu_s: dict[str, float] = field(default_factory=dict)
    ready_s: dict[str, float] = field(default_factory=dict)
    ready_cpu_s: dict[str, float] = field(default_factory=dict)
    first_query_s: dict[str, float] = field(default_factory=dict)
    first_query_cpu_s: dict[str, float] = field(default_factory=dict)
    second_query_s: dict[str, float] = field(default_factory=dict)
    second_query_cpu_s: dict[str, float] = field(default_factory=dict)
    same_answer: dict[str, bool] = field(default_factory=dict)


class Server:
    """One server process, restartable on the same data directory."""

    def __init__(self, name: str, cmd: list[str], url: str, log: Path) -> None:
        self.name, self.cmd, self.url, self.log = name, cmd, url, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(self, timeout: float) -> float:
        """Seconds from now until ``/-/ready`` answers 200 (polled every 20 ms)."""
        started = time.perf_counter()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - started
            except urllib.error.HTTPError as exc:
                exc.close()
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready within {timeout:g}s; see {self.log}")

    def terminate(self, timeout: float) -> tuple[float, float]:
        """SIGTERM and reap: (wall seconds, CPU seconds the process spent after the signal)."""
        assert self.proc is not None
        pid = self.proc.pid
        cpu0 = cpu_seconds(pid)
        started = time.perf_counter()
        os.kill(pid, signal.SIGTERM)
        deadline = started + timeout
        killed = False
        while True:
            got, status, usage = os.wait4(pid, os.WNOHANG)
            if got == pid:
                break
            if time.perf_counter() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                killed = True
                break
            time.sleep(0.005)
        wall = time.perf_counter() - started
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.proc = None
        if killed:
            raise RuntimeError(f"{self.name} ignored SIGTERM for {timeout:g}s; killed")
        return wall, usage.ru_utime + usage.ru_stime - cpu0

    def query(self) -> tuple[float, float, list[dict[str, str]]]:
        """(wall seconds, server CPU seconds, label sets of the answer) of one QUERY."""
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": QUERY})
        cpu0 = cpu_seconds(self.pid)
        started = time.perf_counter()
        with urllib.request.urlopen(self.url + path, timeout=600) as resp:
            body = json.loads(resp.read())
        wall = time.perf_counter() - started
        cpu = cpu_seconds(self.pid) - cpu0
        if body.get("status") != "success":
            raise RuntimeError(f"{self.name}: {QUERY} failed: {body}")
        return wall, cpu, sorted((r["metric"] for r in body["data"]["result"]), key=json.dumps)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def measure(server: Server, r: Round, ready_timeout: float) -> None:
    _, _, before = server.query()
    wall, cpu = server.terminate(timeout=300)
    if server.name == "ours" and server.log.read_bytes().count(b"Traceback"):
        raise RuntimeError(f"ours logged a traceback; see {server.log}")
    r.shutdown_s[server.name], r.shutdown_cpu_s[server.name] = wall, cpu
    server.start()
    r.ready_s[server.name] = server.wait_ready(ready_timeout)
    r.ready_cpu_s[server.name] = cpu_seconds(server.pid)
    wall, cpu, after = server.query()
    r.first_query_s[server.name], r.first_query_cpu_s[server.name] = wall, cpu
    r.same_answer[server.name] = after == before
    r.second_query_s[server.name], r.second_query_cpu_s[server.name], _ = server.query()
    print(f"  {server.name:10} shutdown {r.shutdown_s[server.name]:7.2f} s (CPU {r.shutdown_cpu_s[server.name]:.2f})"
          f"  ready {r.ready_s[server.name]:6.2f} s (CPU {r.ready_cpu_s[server.name]:.2f})"
          f"  first query {r.first_query_s[server.name]:6.2f} s (CPU {r.first_query_cpu_s[server.name]:.2f})"
          f"  second {r.second_query_s[server.name]:6.2f} s (CPU {r.second_query_cpu_s[server.name]:.2f})"
          f"  same series: {r.same_answer[server.name]}",
          flush=True)


def print_table(rounds: list[Round], series: int, minutes: float, interval: float) -> None:
    rows = [
        ("SIGTERM to exit, wall s", "shutdown_s"),
        ("SIGTERM to exit, CPU s", "shutdown_cpu_s"),
        ("restart to /-/ready, wall s", "ready_s"),
        ("restart to /-/ready, CPU s", "ready_cpu_s"),
        ("first query after restart, wall s", "first_query_s"),
        ("first query after restart, server CPU s", "first_query_cpu_s"),
        ("second query, wall s", "second_query_s"),
        ("second query, server CPU s", "second_query_cpu_s"),
    ]
    print()
    print(f"{series // 1000}k series x {interval:g}s, {minutes:g} min of data before the first shutdown, "
          f"{len(rounds)} round(s); medians")
    print()
    print("| measure | ours | Prometheus 2.42 | ratio |")
    print("|---|---|---|---|")
    for label, attr in rows:
        med = {s: statistics.median(getattr(r, attr)[s] for r in rounds) for s in SERVERS}
        print(f"| {label} | {med['ours']:.3f} | {med['prometheus']:.3f} | {ratio(med)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--series", type=int, default=50_000, help="active series (multiple of 2,000)")
    parser.add_argument("--minutes", type=float, default=2.0, help="minutes of ingestion before the first shutdown")
    parser.add_argument("--interval", type=float, default=5.0, help="scrape interval, seconds")
    parser.add_argument("--rounds", type=int, default=1, help="shutdown/restart rounds per server")
    parser.add_argument("--between", type=float, default=30.0, help="seconds of ingestion between rounds")
    parser.add_argument("--max-minutes", type=float, default=30.0, help="stop the whole run after this")
    args = parser.parse_args()
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("needs the Debian package 'prometheus'")
        return 1
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--max-minutes reached")))
    signal.alarm(int(args.max_minutes * 60))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.series} series, "
          f"interval {args.interval:g}s, {args.minutes:g} min", flush=True)
    n = max(1, args.series // SERIES_PER_TARGET)
    ports = distinct_ports(n + 2)
    prom_port, our_port = ports.pop(), ports.pop()
    rounds: list[Round] = []
    targets: subprocess.Popen[bytes] | None = None
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench_restart.") as tmpdir:
        tmp = Path(tmpdir)
        try:
            (tmp / "prometheus.yml").write_text(config_text(ports, args.interval))
            reqlog = tmp / "requests.log"
            reqlog.write_text("")
            with open(tmp / "targets.out", "wb") as out:
                targets = subprocess.Popen(
                    [sys.executable, bench_capacity.__file__, "--serve-targets", ",".join(map(str, ports)),
                     str(reqlog)], stdout=out, stderr=subprocess.STDOUT)
            wait_for_targets(targets, reqlog, tmp / "targets.out")
            servers = [
                Server("ours", [sys.executable, "-m", "metricslib", "collector",
                                "--config", str(tmp / "prometheus.yml"), "--data-dir", str(tmp / "ours"),
                                "--listen", f"127.0.0.1:{our_port}"],
                       f"http://127.0.0.1:{our_port}", tmp / "ours.out"),
                Server("prometheus", [prometheus, f"--config.file={tmp / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={tmp / 'prom'}",
                                      f"--web.listen-address=127.0.0.1:{prom_port}"],
                       f"http://127.0.0.1:{prom_port}", tmp / "prometheus.out"),
            ]
            for s in servers:
                s.start()
            for s in servers:
                s.wait_ready(120)
            time.sleep(args.minutes * 60)
            for i in range(args.rounds):
                if i:
                    time.sleep(args.between)
                print(f"round {i + 1}, load average {os.getloadavg()[0]:.1f}", flush=True)
                r = Round()
                for s in servers:
                    measure(s, r, ready_timeout=600)
                rounds.append(r)
        finally:
            for s in servers:
                s.kill()
            if targets is not None and targets.poll() is None:
                os.kill(targets.pid, signal.SIGTERM)
                targets.wait(timeout=30)
            if rounds:
                print_table(rounds, n * SERIES_PER_TARGET, args.minutes, args.interval)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
