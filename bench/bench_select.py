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
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
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
    args = parser.parse_args()
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
