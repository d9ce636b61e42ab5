"""Resident memory per series after hours of data, ours against a real Prometheus 2.42,
fed in minutes of wall time by remote write.

Both servers run as users run them (``python -m metricslib collector`` and
``prometheus``), on 127.0.0.1, fresh data directories, each with its
remote-write receiver on (``--web.enable-remote-write-receiver``). The script
sends both the *same* requests (the same bytes, in the same order, one
server's copy in a thread each): N counter series
``bench_requests_total{job, instance, series}``, one sample every
``--interval`` seconds of simulated time, ``--hours`` of it ending when the
feed starts. The feed goes slice by slice (``--slice`` samples per series,
every series, then the next slice), so each series' samples arrive in time
order and every request holds ~``--batch`` series; the head of each server
sees hours of data: chunk cuts, window merges (ours) and head compaction
into a block (Prometheus's, once its head spans 3 h) all run as they would.

Then a live phase (``--live`` seconds) sends one sample per series per
``--interval`` of real time, as scrapes would, while both processes' CPU is
sampled every second (the longest one-second CPU share shows a spike at a
cut or merge) and each request's latency is kept (the longest shows a stall).
``VmRSS`` over the series count is taken after the feed, after the live
phase, and after ``sum(rate(bench_requests_total[5m]))`` and a selector
of the last 5 minutes asked of each.

Our collector runs with ``--flush-interval`` (default 1 s rather than the
collector's 30 s): its cuts are spread over flush passes, and at hundreds of
times real speed 30 s passes would fall behind the simulated clock, which
real time never does.

    .venv/bin/python bench/bench_memory.py [--series 50000] [--hours 4] [--rounds 1]

``--in-process`` feeds a store in this process through the same receiver
and prints where its memory is (tracemalloc, by file and line).
Every process is stopped by its PID; the whole run is bounded by ``--max-minutes``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_capacity import cpu_seconds, distinct_ports, process, ratio, rss_bytes
from metricslib.collector.storage.remote.proto import snappy_compress, varint

SERVERS = ("ours", "prometheus")
CLK_TCK = os.sysconf("SC_CLK_TCK")
_SAMPLE = np.dtype([("key", "S3"), ("v", "<f8"), ("tkey", "u1"), ("t", "S6")])


class Feed:
    """Request bodies for N counter series: the labels encoded once, the samples in bulk."""

    def __init__(self, series: int, batch: int,
                 label_pairs: Callable[[int], Sequence[tuple[str, str]]] | None = None) -> None:
        """``label_pairs(i)``: series i's labels, sorted by name (default: bench_requests_total's)."""
        self.series = series
        self.batch = batch
        self.labels: list[bytes] = []
        for i in range(series):
            pairs = label_pairs(i) if label_pairs else (
                ("__name__", "bench_requests_total"), ("instance", f"host-{i // 1000:04d}:9100"),
                ("job", "memory"), ("series", str(i)))
            enc = b"".join(
                b"\x0a" + varint(len(p)) + p
                for p in (b"\x0a" + varint(len(n.encode())) + n.encode() + b"\x12" + varint(len(v.encode())) + v.encode()
                          for n, v in pairs)
            )
            self.labels.append(enc)
        # Counters: each series grows by its own step (1..7) per sample.
        self.steps = (np.arange(series) % 7 + 1).astype(np.float64)

    def bodies(self, times: list[int], first_k: int) -> Iterator[bytes]:
        """Snappy bodies holding ``times`` (the k-th sample of the slice at index first_k + k)."""
        k = len(times)
        tbytes = [varint(t) for t in times]
        if any(len(b) != 6 for b in tbytes):
            raise ValueError("timestamps must take six varint bytes (years 1971..2109)")
        for lo in range(0, self.series, self.batch):
            hi = min(lo + self.batch, self.series)
            rec = np.empty((hi - lo, k), dtype=_SAMPLE)
            rec["key"] = b"\x12\x10\x09"
            rec["tkey"] = 0x10
            rec["t"] = np.array(tbytes, dtype="S6")[None, :]
            rec["v"] = self.steps[lo:hi, None] * np.arange(first_k, first_k + k, dtype=np.float64)[None, :]
            parts = []
            for i in range(lo, hi):
                payload = self.labels[i] + rec[i - lo].tobytes()
                parts.append(b"\x0a" + varint(len(payload)) + payload)
            yield snappy_compress(b"".join(parts))


class Poster:
    """One kept-alive connection per server; each post's latency is kept."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def post(self, body: bytes) -> None:
        started = time.perf_counter()
        self.conn.request("POST", "/api/v1/write", body=body, headers={
            "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        resp = self.conn.getresponse()
        text = resp.read()
        self.latencies.append(time.perf_counter() - started)
        if resp.status != 204 and len(self.errors) < 5:
            self.errors.append(f"{resp.status} {text[:200]!r}")


def post_both(posters: dict[str, Poster], body: bytes) -> None:
    threads = [threading.Thread(target=p.post, args=(body,)) for p in posters.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class CPUSampler:
    """Each process's CPU share over every one-second window, until stopped."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.shares: dict[str, list[float]] = {s: [] for s in pids}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = {s: cpu_seconds(p) for s, p in self.pids.items()}
        t_last = time.monotonic()
        while not self.stop.wait(1.0):
            now = time.monotonic()
            for s, p in self.pids.items():
                c = cpu_seconds(p)
                self.shares[s].append((c - last[s]) / (now - t_last))
                last[s] = c
            t_last = now

    def __enter__(self) -> CPUSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@dataclass
class Result:
    series: int
    hours: float
    feed_s: dict[str, float] = field(default_factory=dict)
    cpu_feed_s: dict[str, float] = field(default_factory=dict)
    rss: dict[str, dict[str, float]] = field(default_factory=dict)  # point -> server -> bytes/series
    live_cpu_max: dict[str, float] = field(default_factory=dict)
    live_cpu_median: dict[str, float] = field(default_factory=dict)
    live_latency_max_ms: dict[str, float] = field(default_factory=dict)
    live_latency_median_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def query(port: int, expr: str, t_s: float) -> None:
    q = urllib.parse.urlencode({"query": expr, "time": f"{t_s:.3f}"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", f"/api/v1/query?{q}", headers={"Accept-Encoding": "identity"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{expr} on port {port}: {resp.status} {body[:200]!r}")
        json.loads(body)
    finally:
        conn.close()


def own_metric(port: int, name: str) -> float:
    """One unlabelled sample of a server's own /metrics (0 when absent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "identity"})
        for line in conn.getresponse().read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    finally:
        conn.close()
    return 0.0


def run_size(series: int, args: argparse.Namespace, prometheus: str, tmp: Path) -> Result:
    res = Result(series, args.hours)
    feed = Feed(series, args.batch)
    interval_ms = int(args.interval * 1000)
    end_ms = int(time.time() * 1000) // interval_ms * interval_ms
    n_samples = int(args.hours * 3_600_000 // interval_ms)
    start_ms = end_ms - (n_samples - 1) * interval_ms
    our_port, prom_port = distinct_ports(2)
    config = tmp / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: {args.interval:g}s\n")
    ours_cmd = [sys.executable, "-m", "metricslib", "collector", "--config", str(config), "--data-dir",
                str(tmp / "ours"), "--listen", f"127.0.0.1:{our_port}", "--web.enable-remote-write-receiver",
                "--flush-interval", args.flush_interval]
    prom_cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'prom'}",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--web.enable-remote-write-receiver"]
    ports = {"ours": our_port, "prometheus": prom_port}
    with ExitStack() as stack:
        procs = {
            "ours": stack.enter_context(process(ours_cmd, tmp / "ours.log", f"http://127.0.0.1:{our_port}/-/ready")),
            "prometheus": stack.enter_context(
                process(prom_cmd, tmp / "prom.log", f"http://127.0.0.1:{prom_port}/-/ready")),
        }
        pids = {s: p.pid for s, p in procs.items()}

        def rss_point(name: str) -> None:
            res.rss[name] = {s: rss_bytes(pids[s]) / series for s in SERVERS}
            head = own_metric(our_port, "metricslib_storage_head_samples") / series
            chunks = own_metric(our_port, "prometheus_tsdb_head_chunks") / series
            print(f"  {name}: " + ", ".join(f"{s} {v / 1000:.2f} kB/series" for s, v in res.rss[name].items())
                  + f" ({ratio(res.rss[name])}); ours holds {head:.0f} raw samples and {chunks:.1f} chunks "
                  "per series", flush=True)

        posters = {s: Poster(p) for s, p in ports.items()}
        cpu0 = {s: cpu_seconds(p) for s, p in pids.items()}
        t0 = time.monotonic()
        for k0 in range(0, n_samples, args.slice):
            times = [start_ms + k * interval_ms for k in range(k0, min(k0 + args.slice, n_samples))]
            for body in feed.bodies(times, k0):
                post_both(posters, body)
            done = (k0 + len(times)) * interval_ms / 3_600_000
            if k0 // args.slice % 10 == 9:
                print(f"  {series} series: {done:.2f} h of data sent after {time.monotonic() - t0:.0f} s; "
                      + ", ".join(f"{s} RSS {rss_bytes(pids[s]) / series / 1000:.2f} kB/series" for s in SERVERS),
                      flush=True)
        res.feed_s = {s: time.monotonic() - t0 for s in SERVERS}
        res.cpu_feed_s = {s: cpu_seconds(p) - cpu0[s] for s, p in pids.items()}
        rss_point("after the feed")
        # Live: one sample per series per interval of real time, as scrapes would send them.
        live_posters = {s: Poster(p) for s, p in ports.items()}
        k = n_samples
        with CPUSampler(pids) as sampler:
            live_end = time.monotonic() + args.live
            while time.monotonic() < live_end:
                tick = time.monotonic()
                t_ms = int(time.time() * 1000)
                for body in feed.bodies([t_ms], k):
                    post_both(live_posters, body)
                k += 1
                time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))
        for s in SERVERS:
            lat = live_posters[s].latencies
            res.live_latency_max_ms[s] = max(lat) * 1000
            res.live_latency_median_ms[s] = statistics.median(lat) * 1000
            res.live_cpu_max[s] = max(sampler.shares[s])
            res.live_cpu_median[s] = statistics.median(sampler.shares[s])
            res.errors[s] = posters[s].errors + live_posters[s].errors
        rss_point(f"after {args.live:g} s live")
        now_s = time.time()
        for port in ports.values():
            query(port, "sum(rate(bench_requests_total[5m]))", now_s)
            query(port, 'count(bench_requests_total{job="memory"})', now_s)
        rss_point("after a 5m query")
    return res


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    if not results:
        return
    print("\n| series x hours of data | point | RSS per series, ours / Prometheus | ratio |")
    print("|---|---|---|---|")
    for r in results:
        for point, values in r.rss.items():
            print(f"| {r.series // 1000}k x {r.hours:g} h | {point} | {values['ours'] / 1000:.2f} / "
                  f"{values['prometheus'] / 1000:.2f} kB | {ratio(values)} |")
    print("\n| series | feed CPU per sample, ours / Prometheus | live phase: longest 1-s CPU share | median | "
          "longest request | median request |")
    print("|---|---|---|---|---|---|")
    for r in results:
        samples = r.series * int(r.hours * 3600 / args.interval)
        cpu = {s: r.cpu_feed_s[s] / samples * 1e6 for s in SERVERS}
        print(f"| {r.series // 1000}k | {cpu['ours']:.2f} / {cpu['prometheus']:.2f} µs ({ratio(cpu)}) | "
              f"{r.live_cpu_max['ours']:.2f} / {r.live_cpu_max['prometheus']:.2f} | "
              f"{r.live_cpu_median['ours']:.2f} / {r.live_cpu_median['prometheus']:.2f} | "
              f"{r.live_latency_max_ms['ours']:.0f} / {r.live_latency_max_ms['prometheus']:.0f} ms | "
              f"{r.live_latency_median_ms['ours']:.0f} / {r.live_latency_median_ms['prometheus']:.0f} ms |")
    for r in results:
        for s, errs in r.errors.items():
            if errs:
                print(f"{r.series} series, {s}: non-204 answers, e.g. {errs}")


def in_process(args: argparse.Namespace, tmp: Path) -> None:
    """Feed a store in this process through the receiver; print where the memory is."""
    import gc
    import tracemalloc

    from metricslib.collector.storage import open_storage
    from metricslib.collector.web.api.remote_write import RemoteWriteReceiver
    from metricslib.collector.web.api.v1 import Request

    series = int(args.series.split(",")[0])
    store = open_storage(tmp / "data", background=False, retention_ms=10**15)
    receiver = RemoteWriteReceiver(store.appender, enabled=True)
    feed = Feed(series, args.batch)
    interval_ms = int(args.interval * 1000)
    n_samples = int(args.hours * 3_600_000 // interval_ms)
    start_ms = (int(time.time() * 1000) // interval_ms - n_samples) * interval_ms
    tracemalloc.start(args.frames)
    from metricslib.collector.storage import compaction
    from metricslib.collector.storage.flush import flush
    from metricslib.collector.storage.store import CUTS_PER_PASS, MERGES_PER_PASS

    step = max(1, args.slice)
    longest = 0.0
    for k0 in range(0, n_samples, step):
        times = [start_ms + k * interval_ms for k in range(k0, min(k0 + step, n_samples))]
        for body in feed.bodies(times, k0):
            answer = receiver.handle(Request("POST", "/api/v1/write", {}, body))
            if answer.status != 204:
                raise RuntimeError(answer.body.decode())
        # One background pass per 30 s of simulated time at most, as the collector's
        # thread would run them (flush, then a compaction pass).
        for _ in range(max(1, len(times) * interval_ms // 30_000)):
            started = time.process_time()
            flush(store.head, store.db, head_chunk_samples=store.head_chunk_samples, wal=store.wal,
                  max_cuts=CUTS_PER_PASS)
            compaction.run_compaction(store.head, store.db, store.chunks, final=False, max_jobs=MERGES_PER_PASS)
            longest = max(longest, time.process_time() - started)
    gc.collect()
    snap = tracemalloc.take_snapshot()
    total = sum(s.size for s in snap.statistics("filename"))
    print(f"{series} series, {args.hours:g} h: traced {total / series:.0f} B/series, "
          f"RSS {rss_bytes(os.getpid()) / series:.0f} B/series; head samples {store.stats().head_samples}, "
          f"longest pass {longest:.2f} s CPU")
    for stat in snap.statistics("traceback" if args.frames > 1 else "lineno")[: args.top]:
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback[: args.frames])
        print(f"{stat.size / series:8.1f} B/series {stat.count / series:6.2f} objs/series  {where}")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--series", default="50000", help="comma-separated series counts")
    parser.add_argument("--hours", type=float, default=4.0, help="hours of simulated data")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--slice", type=int, default=40, help="samples per series per request")
    parser.add_argument("--batch", type=int, default=1000, help="series per request")
    parser.add_argument("--live", type=float, default=120.0, help="seconds of the live phase")
    parser.add_argument("--flush-interval", default="1s", help="our collector's --flush-interval")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="stop the whole run after this")
    parser.add_argument("--in-process", action="store_true", help="tracemalloc in this process instead")
    parser.add_argument("--frames", type=int, default=1, help="--in-process: traceback depth")
    parser.add_argument("--top", type=int, default=25, help="--in-process: lines to print")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--max-minutes reached")))
    signal.alarm(int(args.max_minutes * 60))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.hours:g} h of data at "
          f"{args.interval:g}s, {args.slice} samples per series per request, {args.batch} series per request",
          flush=True)
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="bench_memory.") as tmpdir:
            in_process(args, Path(tmpdir))
        return 0
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("needs the Debian package 'prometheus'")
        return 1
    results: list[Result] = []
    try:
        for series in (int(s) for s in args.series.split(",") if s):
            with tempfile.TemporaryDirectory(prefix="bench_memory.") as tmpdir:
                results.append(run_size(series, args, prometheus, Path(tmpdir)))
    finally:
        print_table(results, args)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
