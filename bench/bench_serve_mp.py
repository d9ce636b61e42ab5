"""Serving and multi-worker aggregation: metricslib vs prometheus_client, same run.

Prints ratios ours/theirs (lower is better):

1. hot path in multi-worker mode: a cached child's ``inc()`` (ours adds into a
   per-thread cell of the worker's mmap file, lock free; prometheus_client's
   multiprocess mode writes an mmap under a lock; bench_mp_hotpath.py has more);
2. one scrape of 4 live workers (~1,200 samples each), then again after 60
   more workers have come and gone (prometheus_client keeps their files);
3. a WSGI ``/metrics`` call on 10,000 series, plain and gzipped;
4. the longest event-loop stall while the ASGI app serves 20,000 series.

Run: ``.venv/bin/python bench/bench_serve_mp.py`` (about a minute).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKERS = 4
COUNTERS = 500
HIST_SETS = 50
CHURN = 60


def best_ns(stmt: Any, number: int, repeat: int = 5) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e9


# --- worker processes (this file re-run with a role) ----------------------------------------


def pc_worker(directory: str, role: str) -> None:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # must precede the import
    import prometheus_client as pc

    c = pc.Counter("jobs", "Jobs.", ["i"])
    h = pc.Histogram("lat_seconds", "Latency.", ["i"])
    for i in range(COUNTERS):
        c.labels(str(i)).inc()
    for i in range(HIST_SETS):
        h.labels(str(i)).observe(0.2)
    if role == "hotpath":
        child = c.labels("0")
        print(json.dumps(best_ns(child.inc, 200_000)), flush=True)


def our_worker(directory: str, role: str) -> None:
    from metricslib import multiprocess
    from metricslib.exposition import render_text
    from metricslib.instruments import Counter, Histogram
    from metricslib.registry import Registry

    reg = Registry()
    c = Counter("jobs", "Jobs.", ["i"], registry=reg)
    h = Histogram("lat_seconds", "Latency.", ["i"], registry=reg)
    for i in range(COUNTERS):
        c.labels(str(i)).inc()
    for i in range(HIST_SETS):
        h.labels(str(i)).observe(0.2)
    agg = multiprocess.setup(directory, reg)
    if role == "hotpath":
        child = c.labels("0")
        print(json.dumps(best_ns(child.inc, 200_000)), flush=True)
        return
    print("ready", flush=True)
    if role == "exit":
        return  # atexit archives this worker
    for line in sys.stdin:
        if line.startswith("scrape"):
            n = int(line.split()[1])
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                body = render_text(agg.collect())
                times.append(time.perf_counter() - t0)
            print(json.dumps([min(times), len(body)]), flush=True)


def spawn(role: str, kind: str, directory: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, f"--{kind}-worker", directory, role],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )


def line(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().decode().strip()


# --- 1. hot path ------------------------------------------------------------------------------


def bench_hotpath() -> None:
    results = []
    for kind in ("pc", "our"):
        with tempfile.TemporaryDirectory() as d:
            proc = spawn("hotpath", kind, d)
            results.append(json.loads(line(proc)))
            proc.wait(timeout=30)  # it archives itself at exit: keep the folder until then
    theirs, ours = results
    print(
        f"hot path inc() in multi-worker mode: ours {ours:.0f} ns, prometheus_client {theirs:.0f} ns, ratio {ours / theirs:.2f}"
    )


# --- 2. scrape across workers -------------------------------------------------------------------


SCRAPES = 10


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (from /proc, in seconds)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pc_scrape(directory: str) -> tuple[float, float]:
    """Best wall time of one scrape, and CPU per scrape."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    reg = CollectorRegistry()
    MultiProcessCollector(reg, path=directory)
    times = []
    cpu0 = time.process_time()
    for _ in range(SCRAPES):
        t0 = time.perf_counter()
        generate_latest(reg)
        times.append(time.perf_counter() - t0)
    return min(times), (time.process_time() - cpu0) / SCRAPES


def bench_scrape() -> None:
    pc_dir = tempfile.mkdtemp()
    our_dir = tempfile.mkdtemp()
    try:
        for _ in range(WORKERS):
            spawn("exit", "pc", pc_dir).wait()
        live = [spawn("stay", "our", our_dir) for _ in range(WORKERS)]
        for p in live:
            assert line(p) == "ready"

        pids = [p.pid for p in live]

        def our_scrape() -> tuple[float, float]:
            """Best wall time of one scrape, and CPU per scrape summed over all workers."""
            assert live[0].stdin is not None
            cpu0 = cpu_seconds(pids)
            live[0].stdin.write(f"scrape {SCRAPES}\n".encode())
            live[0].stdin.flush()
            t, _ = json.loads(line(live[0]))
            return float(t), (cpu_seconds(pids) - cpu0) / SCRAPES

        theirs0, their_cpu = pc_scrape(pc_dir)
        ours0, our_cpu = our_scrape()
        print(
            f"scrape, {WORKERS} workers: ours {ours0 * 1e3:.1f} ms, "
            f"prometheus_client {theirs0 * 1e3:.1f} ms, ratio {ours0 / theirs0:.2f}; "
            f"CPU per scrape (all processes): ours {our_cpu * 1e3:.1f} ms, "
            f"prometheus_client {their_cpu * 1e3:.1f} ms, ratio {our_cpu / their_cpu:.2f}"
        )
        # Churn: workers restarted CHURN times (gunicorn --max-requests, deploys, crashes).
        for _ in range(CHURN):
            spawn("exit", "pc", pc_dir).wait()
        for _ in range(CHURN):
            p = spawn("exit", "our", our_dir)
            line(p)
            p.wait()
        theirs1, _ = pc_scrape(pc_dir)
        ours1, _ = our_scrape()
        files_pc = len(os.listdir(pc_dir))
        files_ours = sum(len(os.listdir(Path(our_dir) / g)) for g in os.listdir(our_dir))
        print(
            f"scrape after {CHURN} worker restarts: ours {ours1 * 1e3:.1f} ms ({files_ours} files), "
            f"prometheus_client {theirs1 * 1e3:.1f} ms ({files_pc} files), ratio {ours1 / theirs1:.2f}"
        )
        for p in live:
            assert p.stdin is not None
            p.stdin.close()
            p.wait(timeout=10)
    finally:
        shutil.rmtree(pc_dir, ignore_errors=True)
        shutil.rmtree(our_dir, ignore_errors=True)


# --- 3. WSGI /metrics ---------------------------------------------------------------------------


def bench_wsgi() -> None:
    import prometheus_client as pc

    from metricslib.instruments import Counter
    from metricslib.registry import Registry
    from metricslib.serve import make_wsgi_app

    ours_reg = Registry(created_samples=False)
    theirs_reg = pc.CollectorRegistry()
    pc.disable_created_metrics()
    c1 = Counter("requests", "Requests.", ["path", "code"], registry=ours_reg)
    c2 = pc.Counter("requests", "Requests.", ["path", "code"], registry=theirs_reg)
    for i in range(10_000):
        c1.labels(f"/p{i % 1000}", str(200 + i // 1000)).inc(i)
        c2.labels(f"/p{i % 1000}", str(200 + i // 1000)).inc(i)
    ours_app, theirs_app = make_wsgi_app(ours_reg), pc.make_wsgi_app(theirs_reg)

    def call(app: Any, encoding: str) -> bytes:
        env = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/metrics",
            "QUERY_STRING": "",
            "HTTP_ACCEPT_ENCODING": encoding,
        }
        return b"".join(app(env, lambda status, headers: None))

    assert gzip.decompress(call(ours_app, "gzip")) == call(theirs_app, "")  # same bytes served
    for encoding in ("", "gzip"):
        ours = best_ns(lambda e=encoding: call(ours_app, e), 3) / 1e6
        theirs = best_ns(lambda e=encoding: call(theirs_app, e), 3) / 1e6
        label = "gzip" if encoding else "plain"
        print(
            f"WSGI /metrics, 10,000 series, {label}: ours {ours:.1f} ms, prometheus_client {theirs:.1f} ms, ratio {ours / theirs:.2f}"
        )


# --- 4. ASGI event-loop stall ---------------------------------------------------------------------


def bench_asgi_stall() -> None:
    import prometheus_client as pc

    from metricslib.instruments import Counter
    from metricslib.registry import Registry
    from metricslib.serve import make_asgi_app

    ours_reg = Registry()
    theirs_reg = pc.CollectorRegistry()
    c1 = Counter("requests", "Requests.", ["i"], registry=ours_reg)
    c2 = pc.Counter("requests", "Requests.", ["i"], registry=theirs_reg)
    for i in range(20_000):
        c1.labels(str(i)).inc()
        c2.labels(str(i)).inc()

    async def max_stall(app: Any) -> float:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/metrics",
            "headers": [],
            "query_string": b"",
        }
        done = False
        worst = 0.0

        async def ticker() -> None:
            nonlocal worst
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                worst = max(worst, now - last)
                last = now

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        await app(scope, receive, send)
        done = True
        await task
        return worst

    ours = min(asyncio.run(max_stall(make_asgi_app(ours_reg))) for _ in range(3)) * 1e3
    theirs = min(asyncio.run(max_stall(pc.make_asgi_app(theirs_reg))) for _ in range(3)) * 1e3
    print(
        f"ASGI longest event-loop stall during a 20,000-series scrape: ours {ours:.1f} ms, prometheus_client {theirs:.1f} ms, ratio {ours / theirs:.2f}"
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--pc-worker":
        pc_worker(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--our-worker":
        our_worker(sys.argv[2], sys.argv[3])
        return
    bench_hotpath()
    bench_scrape()
    bench_wsgi()
    bench_asgi_stall()


if __name__ == "__main__":
    main()
