"""Collector capacity: our collector process against a real Prometheus 2.42, scraping
the same targets at the same time.

Both servers run as users run them (``python -m metricslib collector`` and
``prometheus``), on 127.0.0.1 with fresh data directories and the same config.
The targets are one separate asyncio process listening on N ports, each port
one target of 2,000 counter series ``x{series="i"}`` (bodies rendered once at
start, so the targets cost next to nothing); it logs the time and the
scraper's User-Agent of every request.

For each series count the run warms up, then alternates a quiet phase and a
phase with ``sum(rate(x[5m])) by (job)`` sent in a loop to both servers (one
client thread each, keep-alive). Per phase and server:

- CPU per ingested sample: utime+stime from ``/proc/PID/stat`` over the
  phase, divided by the samples the targets served to that scraper in it
  (quiet phases only: under query load the CPU is mostly the queries').
  Each server counts as its whole process tree: the CPU of every live
  descendant (our collector's query processes) plus the children it has
  reaped (cutime+cstime), so work moved out of the collector process is
  still counted;
- scrapes on schedule: from the request log, each interval slot of each
  target counts once; it is on schedule when the gap from the previous
  request is within 10 % of the interval (a missed slot counts as late);
- RSS per active series: ``VmRSS`` of the process tree at the end of the
  phase over the active series (targets x (2,000 + 5 report series));
- the query's median latency (load phases);
- threads: ``Threads`` of ``/proc/PID/status`` at the end of the phase;
- scrape offsets: each target's phase within the interval (the circular mean
  of its request times modulo the interval) per server, and how far our
  phase is from Prometheus's for the same target (median and the share of
  targets within 1 % of the interval; independent phases would give a
  median of a quarter interval and ~2 % within); and both servers' phases
  against the phases Prometheus 2.42's own rule gives (``scrape/offsets.py``),
  which tells "Prometheus scrapes where its rule says" from "ours follows it".

    .venv/bin/python bench/bench_capacity.py [--series 10000,50000] [--big]
        [--interval 5] [--phase 60] [--rounds 1] [--series-per-target 2000]
        [--quiet-only] [--max-rss-gib 10]

``--big`` adds 200k series. ``--series-per-target`` changes the targets'
size (the target count is series / series per target). ``--quiet-only``
runs no query phases. ``--max-rss-gib`` stops the run cleanly (table of
the phases so far, every process stopped) once our collector's RSS passes
it; both RSS figures are printed every ``--rss-every`` seconds. Every
process is stopped by its PID; the whole run is bounded by ``--max-minutes``.

The measurements of issue 12's curve (see docs/benchmarks.md, "CPU per
sample up to 1M series, a full hour under the range query, 1,000 targets"):

    # 1M series: 500 targets x 2,000 at a 30 s interval, quiet phases only
    bench/bench_capacity.py --series 1000000 --interval 30 --warmup 150 --phase 150 --rounds 2 \
        --quiet-only --max-rss-gib 10 --max-minutes 30
    # 1,000 targets x 100 series at 5 s: threads, on schedule, offsets
    bench/bench_capacity.py --series 100000 --series-per-target 100 --interval 5 --rounds 1 --phase 60
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.keepalive import KeepAlive
from metricslib.collector.config.durations import format_duration
from metricslib.collector.scrape.offsets import hostname, jitter_seed, offset_ns
from tests.helpers import free_port, wait_for_http

SERIES_PER_TARGET = 2000  # the default of --series-per-target
REPORT_SERIES = 5  # up, scrape_duration_seconds, scrape_samples_*, scrape_series_added
QUERY = "sum(rate(x[5m])) by (job)"
BODIES = 64  # counters grow for BODIES scrapes, then reset once
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = ("ours", "prometheus")


# --- the targets (a child process) ------------------------------------------------------


def _bodies(per_target: int = SERIES_PER_TARGET) -> list[bytes]:
    head = "# HELP x A synthetic counter.\n# TYPE x counter\n"
    return [
        (head + "".join(f'x{{series="{i}"}} {k * (i % 7 + 1)}\n' for i in range(per_target))).encode()
        for k in range(BODIES)
    ]


def serve_targets(ports: list[int], log_path: str, per_target: int = SERIES_PER_TARGET) -> None:
    """Answer every port with the next body of that port; log each request."""
    bodies = _bodies(per_target)
    log: list[str] = []
    count: dict[tuple[int, str], int] = defaultdict(int)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.time()
                kind = "prometheus" if b"User-Agent: Prometheus/" in head else "ours"
                n = count[port, kind]
                count[port, kind] = n + 1
                log.append(f"{port} {kind} {now:.4f}\n")
                body = bodies[n % BODIES]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body))
                writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def flush() -> None:
        with open(log_path, "a") as f:
            while True:
                await asyncio.sleep(0.5)
                if log:
                    f.writelines(log)
                    log.clear()
                    f.flush()

    async def main() -> None:
        for port in ports:
            await asyncio.start_server(lambda r, w, p=port: handle(r, w, p), "127.0.0.1", port)
        Path(log_path + ".ready").touch()
        await flush()

    asyncio.run(main())


# --- measuring ---------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (field 3 is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children[int(_stat(int(entry.name))[1])].append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid``'s process tree, with the children each has reaped (cutime+cstime)."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = _stat(p)
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / CLK_TCK


def rss_bytes(pid: int) -> int:
    """VmRSS summed over ``pid``'s process tree."""
    total = 0
    for p in process_tree(pid):
        try:
            text = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) * 1024 for line in text.splitlines() if line.startswith("VmRSS:"))
    return total


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {name} for {pid}")


def thread_count(pid: int) -> int:
    return _status_field(pid, "Threads")


def read_log(path: Path) -> dict[str, dict[int, list[float]]]:
    """Scraper -> port -> request times."""
    out: dict[str, dict[int, list[float]]] = {s: defaultdict(list) for s in SERVERS}
    for line in path.read_text().splitlines():
        port, kind, t = line.split()
        out[kind][int(port)].append(float(t))
    return out


def schedule(times: dict[int, list[float]], t0: float, t1: float, interval: float) -> tuple[int, int]:
    """(slots on schedule, slots) for the requests that arrived in [t0, t1)."""
    good = slots = 0
    for stamps in times.values():
        stamps = sorted(stamps)
        for a, b in itertools.pairwise(stamps):
            if not t0 <= b < t1:
                continue
            gap = b - a
            slots += max(1, round(gap / interval))
            good += abs(gap - interval) <= 0.1 * interval
    return good, slots


def served(times: dict[int, list[float]], t0: float, t1: float, per_target: int = SERIES_PER_TARGET) -> int:
    return sum(t0 <= t < t1 for stamps in times.values() for t in stamps) * per_target


def target_phases(times: dict[int, list[float]], t0: float, t1: float, interval: float) -> dict[int, float]:
    """Port -> where in the interval that target's requests in [t0, t1) fall: the
    circular mean of ``t mod interval``, in seconds from 0 to the interval (a mean
    on the circle, so requests at 4.99 s and 0.01 s of a 5 s interval average to 0)."""
    out: dict[int, float] = {}
    for port, stamps in times.items():
        angles = [2 * math.pi * (t % interval) / interval for t in stamps if t0 <= t < t1]
        if not angles:
            continue
        mean = math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))
        out[port] = (mean / (2 * math.pi) * interval) % interval
    return out


def prometheus_rule(ports: list[int], observed: dict[int, float], interval: float) -> tuple[str, dict[int, float]]:
    """Port -> the phase Prometheus's own rule gives each target (``scrape/offsets.py``),
    for the host name (the rule's jitter seed) among those Go may have resolved
    whose phases come closest to ``observed``; and that name."""
    name = socket.gethostname()
    best: tuple[float, str, dict[int, float]] | None = None
    for host in dict.fromkeys((hostname(), name, socket.getfqdn(), name + ".", socket.getfqdn() + ".")):
        seed = jitter_seed(host)
        rule = {p: static_target_offset_s(f"127.0.0.1:{p}", "capacity", interval, min(interval, 10), seed)
                for p in ports}
        gaps = phase_gaps(rule, observed, interval)
        score = statistics.median(gaps) if gaps else interval
        if best is None or score < best[0]:
            best = (score, host, rule)
    assert best is not None
    return best[1], best[2]


def static_target_offset_s(address: str, job: str, interval_s: float, timeout_s: float, seed: int) -> float:
    """Prometheus's offset (``scrape/offsets.py``) for a static ``http`` target at
    ``/metrics`` with no relabelling, in seconds."""
    labels = [("__address__", address), ("__metrics_path__", "/metrics"), ("__scheme__", "http"),
              ("__scrape_interval__", format_duration(round(interval_s * 1000))),
              ("__scrape_timeout__", format_duration(round(timeout_s * 1000))),
              ("instance", address), ("job", job)]
    return offset_ns(labels, f"http://{address}/metrics", round(interval_s * 1e9), seed) / 1e9


def phase_gaps(a: dict[int, float], b: dict[int, float], interval: float) -> list[float]:
    """For each target in both: the distance on the circle between its two phases,
    0 to half the interval."""
    gaps = []
    for port in sorted(a.keys() & b.keys()):
        d = abs(a[port] - b[port]) % interval
        gaps.append(min(d, interval - d))
    return gaps


@dataclass
class Phase:
    series: int
    load: bool
    cpu_us_per_sample: dict[str, float] = field(default_factory=dict)
    on_schedule: dict[str, float] = field(default_factory=dict)
    rss_per_series: dict[str, float] = field(default_factory=dict)
    query_median_ms: dict[str, float] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)
    threads: dict[str, int] = field(default_factory=dict)
    offset_gaps: list[float] = field(default_factory=list)  # seconds, per target, ours vs Prometheus
    rule_gaps: dict[str, list[float]] = field(default_factory=dict)  # server -> gaps to Prometheus's rule
    rule_host: str = ""
    interval: float = 0.0


class QueryLoad:
    """One client per server sending QUERY in a loop until stopped."""

    def __init__(self, urls: dict[str, str], range_s: float = 0.0, step_s: float = 60.0) -> None:
        self.stop = threading.Event()
        self.times: dict[str, list[float]] = {s: [] for s in urls}
        self.errors: dict[str, int] = {s: 0 for s in urls}
        self.range_s, self.step_s = range_s, step_s
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": QUERY})
        self.threads = [threading.Thread(target=self._run, args=(s, u, path), daemon=True) for s, u in urls.items()]

    def _path(self, path: str) -> str:
        """The instant query, or with ``--query-range`` a range query ending now."""
        if not self.range_s:
            return path
        end = time.time()
        return "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": QUERY, "start": f"{end - self.range_s:.3f}", "end": f"{end:.3f}", "step": f"{self.step_s:g}"})

    def _run(self, server: str, url: str, path: str) -> None:
        conn = KeepAlive(url)
        try:
            while not self.stop.is_set():
                try:
                    self.times[server].append(conn.timed_get(self._path(path)))
                except Exception:
                    self.errors[server] += 1
                    conn.close()
                    conn = KeepAlive(url)
                    self.stop.wait(0.5)
        finally:
            conn.close()

    def __enter__(self) -> QueryLoad:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


# --- processes ---------------------------------------------------------------------------


@contextmanager
def process(cmd: list[str], log: Path, ready_url: str | None = None, stop_timeout: float = 60,
            ready_timeout: float = 120) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        if ready_url is not None:
            wait_for_http(ready_url, timeout=ready_timeout, proc=None)
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def distinct_ports(count: int) -> list[int]:
    """``count`` free ports, all different (the kernel may hand out a freed port again)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def wait_for_targets(targets: subprocess.Popen[bytes], reqlog: Path, out: Path) -> None:
    """Until ``serve_targets`` has bound every port (it touches ``<reqlog>.ready``)."""
    deadline = time.monotonic() + 120
    while not Path(str(reqlog) + ".ready").exists():
        if time.monotonic() > deadline or targets.poll() is not None:
            raise RuntimeError(f"the targets did not start:\n{out.read_text()}")
        time.sleep(0.1)


def config_text(ports: list[int], interval: float) -> str:
    targets = ", ".join(f"'127.0.0.1:{p}'" for p in ports)
    return (
        f"global:\n  scrape_interval: {interval:g}s\n  scrape_timeout: {min(interval, 10):g}s\n"
        f"scrape_configs:\n  - job_name: capacity\n    static_configs:\n      - targets: [{targets}]\n"
    )


class RSSLimitReached(Exception):
    """Our collector's RSS passed ``--max-rss-gib``; the run stops cleanly."""


class RSSWatch:
    """Polls both servers' RSS every 2 s, prints it every ``every`` seconds, and
    stops the run (SIGUSR1: the handler raises in the main thread, whose
    ExitStack stops every process) once ours passes ``limit`` bytes."""

    def __init__(self, pids: dict[str, int], limit: float, every: float) -> None:
        self.pids, self.limit, self.every = pids, limit, every
        self.peak = dict.fromkeys(pids, 0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = last_print = time.monotonic()
        while not self.stop.wait(2.0):
            try:
                rss = {s: rss_bytes(p) for s, p in self.pids.items()}
            except (OSError, RuntimeError):
                return  # a process ended: the main thread reports it
            for s, v in rss.items():
                self.peak[s] = max(self.peak[s], v)
            now = time.monotonic()
            if now - last_print >= self.every:
                last_print = now
                print(f"  [{now - started:4.0f} s] RSS " + ", ".join(f"{s} {v / 2**30:.2f} GiB" for s, v in rss.items())
                      + f"; load average {os.getloadavg()[0]:.1f}", flush=True)
            if rss["ours"] > self.limit:
                print(f"  our RSS {rss['ours'] / 2**30:.2f} GiB passed --max-rss-gib; stopping", flush=True)
                os.kill(os.getpid(), signal.SIGUSR1)
                return

    def __enter__(self) -> RSSWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def run_size(series: int, args: argparse.Namespace, prometheus: str, tmp: Path) -> list[Phase]:
    per_target = args.series_per_target
    n = series // per_target
    ports = distinct_ports(n + 2)
    prom_port, our_port = ports.pop(), ports.pop()
    interval = args.interval
    (tmp / "prometheus.yml").write_text(config_text(ports, interval))
    reqlog = tmp / "requests.log"
    reqlog.write_text("")
    urls = {"ours": f"http://127.0.0.1:{our_port}", "prometheus": f"http://127.0.0.1:{prom_port}"}
    phases: list[Phase] = []
    with ExitStack() as stack:
        targets = stack.enter_context(process(
            [sys.executable, __file__, "--serve-targets", ",".join(map(str, ports)), str(reqlog), str(per_target)],
            tmp / "targets.out"))
        wait_for_targets(targets, reqlog, tmp / "targets.out")
        procs = {
            "prometheus": stack.enter_context(process(
                [prometheus, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'prom'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                tmp / "prometheus.out", f"{urls['prometheus']}/-/ready")),
            "ours": stack.enter_context(process(
                [sys.executable, "-m", "metricslib", "collector", "--config", str(tmp / "prometheus.yml"),
                 "--data-dir", str(tmp / "ours"), "--listen", f"127.0.0.1:{our_port}",
                 *(["--query.processes", str(args.query_processes)] if args.query_processes is not None else [])],
                tmp / "ours.out", f"{urls['ours']}/-/ready")),
        }
        stack.enter_context(RSSWatch({s: p.pid for s, p in procs.items()}, args.max_rss_gib * 2**30, args.rss_every))
        time.sleep(args.warmup)
        active = n * (per_target + REPORT_SERIES)
        for _ in range(args.rounds):
            for load in (False,) if args.quiet_only else (False, True):
                phase = Phase(series, load, interval=interval)
                t0 = time.time()
                cpu0 = {s: cpu_seconds(p.pid) for s, p in procs.items()}
                if load:
                    loaded = {s: u for s, u in urls.items() if s in args.query_servers.split(",")}
                    with QueryLoad(loaded, args.query_range, args.query_step) as q:
                        time.sleep(args.phase)
                        cpu1 = {s: cpu_seconds(p.pid) for s, p in procs.items()}
                        t1 = time.time()
                    for s in loaded:
                        phase.queries[s] = len(q.times[s])
                        if q.times[s]:
                            phase.query_median_ms[s] = statistics.median(q.times[s]) * 1000
                else:
                    time.sleep(args.phase)
                    cpu1 = {s: cpu_seconds(p.pid) for s, p in procs.items()}
                    t1 = time.time()
                time.sleep(1.5)  # let the target flush its log past t1
                log = read_log(reqlog)
                for s, p in procs.items():
                    if p.poll() is not None:
                        raise RuntimeError(f"{s} exited with {p.returncode}; see {tmp}/{s}.out")
                    samples = served(log[s], t0, t1, per_target)
                    if samples and not load:
                        phase.cpu_us_per_sample[s] = (cpu1[s] - cpu0[s]) / samples * 1e6
                    good, slots = schedule(log[s], t0, t1, interval)
                    phase.on_schedule[s] = good / slots if slots else 0.0
                    phase.rss_per_series[s] = rss_bytes(p.pid) / active
                    phase.threads[s] = thread_count(p.pid)
                observed = {s: target_phases(log[s], t0, t1, interval) for s in SERVERS}
                phase.offset_gaps = phase_gaps(observed["ours"], observed["prometheus"], interval)
                phase.rule_host, rule = prometheus_rule(ports, observed["prometheus"], interval)
                phase.rule_gaps = {s: phase_gaps(rule, observed[s], interval) for s in SERVERS}
                phases.append(phase)
                print_phase(phase, flush=True)
    return phases


def ratio(values: dict[str, float]) -> str:
    """ours / Prometheus, to two places, or a dash when either is missing."""
    if "ours" in values and values.get("prometheus"):
        return f"{values['ours'] / values['prometheus']:.2f}"
    return "—"


def print_phase(p: Phase, flush: bool = False) -> None:
    label = f"{p.series // 1000}k {'query load' if p.load else 'quiet'}"
    cpu = p.cpu_us_per_sample
    cpu_s = (f"CPU/sample {cpu['ours']:.2f} / {cpu['prometheus']:.2f} µs = {ratio(cpu)}"
             if len(cpu) == 2 else "CPU/sample —")
    sched = p.on_schedule
    rss = p.rss_per_series
    line = (f"{label:16} {cpu_s:36} on schedule {sched['ours']:.3f} / {sched['prometheus']:.3f}   "
            f"RSS/series {rss['ours']:.0f} / {rss['prometheus']:.0f} B = {ratio(rss)}")
    if p.load:
        q = p.query_median_ms
        line += (f"   query median {q.get('ours', float('nan')):.0f} / {q.get('prometheus', float('nan')):.0f} ms"
                 f" = {ratio(q)} (n={p.queries.get('ours', 0)}/{p.queries.get('prometheus', 0)})")
    line += f"   threads {p.threads.get('ours', 0)} / {p.threads.get('prometheus', 0)}"
    print(line, flush=flush)
    if p.offset_gaps:
        print(f"{'':16} {offsets_text(p.offset_gaps, p.interval)}", flush=flush)
        for s, gaps in p.rule_gaps.items():
            print(f"{'':16} {offsets_text(gaps, p.interval, f'{s} vs Prometheus 2.42 rule (host {p.rule_host!r})')}",
                  flush=flush)


def offsets_text(gaps: list[float], interval: float, what: str = "ours vs Prometheus") -> str:
    """Two sets of targets' phases against each other, in words."""
    within = sum(g <= 0.01 * interval for g in gaps) / len(gaps)
    return (f"offsets, {what} over {len(gaps)} targets: median gap {statistics.median(gaps) * 1000:.0f} ms "
            f"({statistics.median(gaps) / interval:.3f} of the interval; independent phases: 0.25), "
            f"largest {max(gaps) * 1000:.0f} ms, {within:.0%} within 1 % of the interval")


def print_table(phases: list[Phase], interval: float) -> None:
    print()
    print("| series x interval | phase | CPU per sample, ours / Prometheus (µs) | ratio "
          "| on schedule, ours / Prometheus | RSS per series, ours / Prometheus | ratio | query median, ours / Prometheus "
          "| ratio | threads, ours / Prometheus |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p in phases:
        cpu, sched, rss, q = p.cpu_us_per_sample, p.on_schedule, p.rss_per_series, p.query_median_ms
        cpu_s = f"{cpu['ours']:.2f} / {cpu['prometheus']:.2f}" if len(cpu) == 2 else "—"
        q_s = f"{q['ours']:.0f} / {q['prometheus']:.0f} ms" if len(q) == 2 else "—"
        print(f"| {p.series // 1000}k x {interval:g}s | {'query load' if p.load else 'quiet'} | {cpu_s} | {ratio(cpu)} "
              f"| {sched['ours']:.3f} / {sched['prometheus']:.3f} | {rss['ours'] / 1000:.1f} / {rss['prometheus'] / 1000:.1f} kB "
              f"| {ratio(rss)} | {q_s} | {ratio(q)} | {p.threads.get('ours', 0)} / {p.threads.get('prometheus', 0)} |")
    for p in phases:
        if p.offset_gaps:
            print(f"\n{p.series // 1000}k {'query load' if p.load else 'quiet'}: {offsets_text(p.offset_gaps, interval)}")
            for s, gaps in p.rule_gaps.items():
                print(f"  {offsets_text(gaps, interval, f'{s} vs Prometheus 2.42 rule (host {p.rule_host!r})')}")


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-targets":
        serve_targets([int(p) for p in sys.argv[2].split(",")], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--series", default="10000,50000", help="comma-separated series counts")
    parser.add_argument("--big", action="store_true", help="add 200,000 series")
    parser.add_argument("--interval", type=float, default=5.0, help="scrape interval, seconds")
    parser.add_argument("--phase", type=float, default=60.0, help="seconds per measured phase")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the first phase")
    parser.add_argument("--rounds", type=int, default=1, help="quiet + query-load phase pairs per size")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="stop the whole run after this")
    parser.add_argument("--query-range", type=float, default=0.0,
                        help="send QUERY as a range query over this many seconds up to now (0: instant)")
    parser.add_argument("--query-step", type=float, default=60.0, help="the range query's step, seconds")
    parser.add_argument("--query-servers", default="ours,prometheus",
                        help="which servers get the query load (both by default; one alone shows its schedule "
                             "without the other's query work on the same cores)")
    parser.add_argument("--query-processes", type=int, default=None,
                        help="our collector's --query.processes (default: the collector's default)")
    parser.add_argument("--series-per-target", type=int, default=SERIES_PER_TARGET, help="series per target")
    parser.add_argument("--quiet-only", action="store_true", help="no query-load phases")
    parser.add_argument("--max-rss-gib", type=float, default=10.0,
                        help="stop the run cleanly once our collector's RSS passes this")
    parser.add_argument("--rss-every", type=float, default=30.0, help="print both RSS figures this often, seconds")
    args = parser.parse_args()
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("needs the Debian package 'prometheus'")
        return 1
    sizes = [int(s) for s in args.series.split(",") if s]
    if args.big:
        sizes.append(200_000)
    # Bounded in time: SIGALRM raises in the main thread, and the ExitStacks stop every process.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--max-minutes reached")))
    signal.alarm(int(args.max_minutes * 60))

    def rss_limit(*_: object) -> None:
        raise RSSLimitReached(f"our collector's RSS passed {args.max_rss_gib:g} GiB")

    signal.signal(signal.SIGUSR1, rss_limit)
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; interval {args.interval:g}s, "
          f"phases of {args.phase:g}s, {args.rounds} round(s), {args.series_per_target} series per target", flush=True)
    results: list[Phase] = []
    stopped: Exception | None = None
    try:
        for series in sizes:
            with tempfile.TemporaryDirectory(prefix="bench_capacity.") as tmpdir:
                results += run_size(series, args, prometheus, Path(tmpdir))
    except (RSSLimitReached, TimeoutError) as exc:
        stopped = exc
    finally:
        print_table(results, args.interval)
    print(f"\n{time.strftime('%H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    if stopped is not None:
        print(f"stopped early: {stopped}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
