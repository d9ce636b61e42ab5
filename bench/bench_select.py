"""Select path CPU in process: the store's select and the queries that sit on it.

N counter series ``x{job, series}`` hold ``--hours`` of samples every
``--interval`` seconds. By default all but the newest ``--head-minutes`` are
imported (one chunk per series and 2 h window, as compaction leaves them) and
the rest is in the head; with ``--live`` every sample is appended and the store
flushed every 12 scrapes, so the chunks are its own 120-sample cuts, as in a
collector running for less than one window. Reported, in CPU seconds of this
thread (``time.thread_time``, so other load on the machine counts little):
a cold and a warm select of every series over the last 5 minutes,
``sum(rate(x[5m])) by (job)`` and a 1 h range query of it at a 60 s step. No anchor: this is for profiling and for before /
after comparisons of our own code (run both trees, interleaved).

    .venv/bin/python bench/bench_select.py [--series 10000] [--hours 1] [--repeat 3] [--live]

``--ingest SECONDS`` measures the other side instead: scrapes on schedule
while queries run. Scrape workers append one 2,000-series column per target
every ``--interval`` (each "scrape" first reads its body from a local socket,
so it gives the interpreter up as a real scrape does); a scrape is on
schedule when it starts within 10 % of the interval after its slot (as
``bench_capacity`` counts). Phases of SECONDS each: quiet, then with a query
thread running the instant query, then the 1 h range query, in a loop.

    .venv/bin/python bench/bench_select.py --series 50000 --hours 0.25 --live --ingest 30 --interval 1
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.promql.engine import Engine
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.store import Store

T0 = 1_700_000_000_000


def build(store: Store, series: int, hours: float, interval_s: float, head_minutes: float, live: bool) -> int:
    """Fill the store; returns the newest sample's time."""
    step = int(interval_s * 1000)
    total = int(hours * 3_600_000 // step)
    in_head = total if live else min(total, int(head_minutes * 60_000 // step))
    times = T0 + np.arange(total, dtype=np.int64) * step
    labels = [make_labels({"__name__": "x", "job": f"j{i % 20}", "series": str(i)}) for i in range(series)]
    cut = total - in_head
    if cut:
        slope = np.arange(series, dtype=np.float64) % 7 + 1
        batch = 20_000
        for lo in range(0, series, batch):
            store.import_series(
                (labels[i], times[:cut], np.arange(cut, dtype=np.float64) * slope[i])
                for i in range(lo, min(series, lo + batch))
            )
    app = store.appender()
    refs = [store.series_ref(lbl) for lbl in labels]
    slope_list = [float(i % 7 + 1) for i in range(series)]
    for k in range(cut, total):
        app.append_column(refs, int(times[k]), [k * s for s in slope_list])
        if k % 50 == 0 or live:
            app.commit()
            app = store.appender()
        if live and k % 12 == 0:
            store.flush()  # as the flush thread would: 120-sample cuts, as a live collector has
    app.commit()
    return int(times[-1])


def cpu(fn: Callable[[], object]) -> float:
    t = time.thread_time()
    fn()
    return time.thread_time() - t


def ingest_phase(store: Store, series: int, interval_s: float, seconds: float, start_ms: int,
                 query: Callable[[], object] | None) -> tuple[float, float, int]:
    """Scrapes on schedule (fraction), 99th percentile lateness (s) and queries run in one phase."""
    targets = max(1, series // 2000)
    labels = [make_labels({"__name__": "x", "job": f"j{i % 20}", "series": str(i)}) for i in range(series)]
    refs = [store.series_ref(lbl) for lbl in labels]
    per_target = [refs[k * 2000 : (k + 1) * 2000] for k in range(targets)]
    body = b"x" * 60_000  # about a 2,000-series exposition body
    late: list[float] = []
    stop = threading.Event()
    queries = 0

    def scrape(k: int, due: float, step: int) -> None:
        late.append(time.monotonic() - due)
        a, b = socket.socketpair()
        with a, b:
            a.sendall(body)
            a.shutdown(socket.SHUT_WR)
            while b.recv(65536):
                pass
        app = store.appender()
        app.append_column(per_target[k], start_ms + step * int(interval_s * 1000), [float(step)] * len(per_target[k]))
        app.commit()

    def query_loop() -> None:
        nonlocal queries
        assert query is not None
        while not stop.is_set():
            query()
            queries += 1

    work: list[tuple[int, float, int]] = []
    cond = threading.Condition()
    t0 = time.monotonic() + 0.5
    rounds = int(seconds / interval_s)

    def worker() -> None:
        while True:
            with cond:
                while not work:
                    cond.wait()
                k, due, step = work.pop(0)
            if k < 0:
                return
            scrape(k, due, step)

    workers = [threading.Thread(target=worker) for _ in range(min(32, targets))]
    for w in workers:
        w.start()
    q = threading.Thread(target=query_loop) if query is not None else None
    if q is not None:
        q.start()
    try:
        for step in range(rounds):
            for k in range(targets):
                # Each target's own offset in the interval, as the scrape scheduler spreads them.
                due = t0 + step * interval_s + k * interval_s / targets
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                with cond:
                    work.append((k, due, step))
                    cond.notify()
    finally:
        with cond:
            work.extend((-1, 0.0, 0) for _ in workers)
            cond.notify_all()
        for w in workers:
            w.join()
        stop.set()
        if q is not None:
            q.join()
    on_time = sum(1 for x in late if x <= 0.1 * interval_s) / max(1, len(late))
    return on_time, float(np.percentile(late, 99)) if late else 0.0, queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--head-minutes", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache-samples", type=int, default=4_000_000)
    parser.add_argument("--live", action="store_true",
                        help="append everything and flush every 12 samples (the store's own 120-sample chunks)")
    parser.add_argument("--ingest", type=float, default=0.0,
                        help="seconds per phase of scrapes under queries (see the module's doc)")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="sys.setswitchinterval, in ms (default: leave as it is)")
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval / 1000)
    with tempfile.TemporaryDirectory(prefix="bench-select-") as tmp:
        store = open_storage(tmp, background=False, wal=False, cache_samples=args.cache_samples)
        try:
            t_build = time.monotonic()
            now = build(store, args.series, args.hours, args.interval, args.head_minutes, args.live)
            print(f"{args.series} series, {args.hours:g} h every {args.interval:g} s "
                  f"({args.head_minutes:g} min in the head): built in {time.monotonic() - t_build:.0f} s",
                  flush=True)
            q = store.querier()
            engine = Engine(q, max_samples=10**10, timeout_s=3600)
            matchers = [Matcher("__name__", "=", "x")]
            cases: dict[str, Callable[[], object]] = {
                "select 5m": lambda: q.select_batch(matchers, now - 300_000, now),
                "sum(rate(x[5m])) by (job)": lambda: engine.instant_query("sum(rate(x[5m])) by (job)", now),
                "1 h range, 60 s step": lambda: engine.range_query(
                    "sum(rate(x[5m])) by (job)", now - 3_600_000, now, 60_000),
            }
            if args.ingest:
                print(f"switch interval {sys.getswitchinterval() * 1000:g} ms", flush=True)
                loads: dict[str, Callable[[], object] | None] = {"quiet": None}
                loads.update(list(cases.items())[1:])
                for step_base, (name, fn) in enumerate(loads.items()):
                    base = now + 60_000 + step_base * int(args.ingest * 1000 * 2)
                    on_time, p99, n = ingest_phase(store, args.series, args.interval, args.ingest, base, fn)
                    print(f"ingest, {name:28s} on schedule {on_time:.3f}, p99 late {p99 * 1000:6.1f} ms, "
                          f"{n} queries", flush=True)
                return 0
            for name, fn in cases.items():
                first = cpu(fn)
                rest = [cpu(fn) for _ in range(args.repeat)]
                print(f"{name:28s} first {first:7.3f} s   then median {statistics.median(rest):7.3f} s CPU",
                      flush=True)
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
