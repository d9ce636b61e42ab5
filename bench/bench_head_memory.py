"""Head memory per series in process: what the raw head samples of scraped series cost.

N series in targets of 2,000 (one kept ``ColumnRefs`` each, committed as the
scrape loops commit them), ``--rounds`` scrapes of 5 s after two warm-up
rounds, a flush every 6 rounds (the collector's 30 s flush), and no cut
(keep ``--rounds`` below 118, the head's 120-sample cut less the warm-up).
Prints the memory the store allocated during the rounds (tracemalloc) per
series, the head samples per series at the end, and the CPU of a select of
every series over the whole head (best of 5), which reads every head sample.

    PYTHONPATH=. .venv/bin/python bench/bench_head_memory.py [--series 50000] [--rounds 110]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metricslib.collector.model import Matcher
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.columns import ColumnRefs

PER_TARGET = 2000
STEP_MS = 5000


def run(series: int, rounds: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as d:
        store = open_storage(Path(d), background=False, retention_ms=10**15)
        columns = [
            ColumnRefs([store.series_ref((("__name__", "x"), ("target", str(t)), ("series", str(i))))
                        for i in range(PER_TARGET)])
            for t in range(series // PER_TARGET)
        ]
        t0 = 1_700_000_000_000 // 7_200_000 * 7_200_000 + 60_000  # well inside one 2 h window

        def scrape(k: int) -> None:
            for column in columns:
                app = store.appender()
                app.append_column(column, t0 + k * STEP_MS, [float(k * 7 + i) for i in range(len(column))])
                app.commit()

        for k in range(2):
            scrape(k)
        store.flush()
        gc.collect()
        tracemalloc.start()
        for k in range(2, rounds + 2):
            scrape(k)
            if k % 6 == 0:
                store.flush()
        gc.collect()
        grown, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n = len(columns) * PER_TARGET
        head = store.stats().head_samples / n
        querier = store.querier()
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            querier.select_batch([Matcher("__name__", "=", "x")], t0, t0 + (rounds + 2) * STEP_MS)
            best = min(best, time.process_time() - started)
        store.close()
    return grown / n, head, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=110)
    args = ap.parse_args()
    per_series, head, select_s = run(args.series, args.rounds)
    print(f"{args.series} series, {args.rounds} rounds: the head grew {per_series:.0f} bytes per series "
          f"({head:.0f} head samples per series); select of every series: {select_s * 1000:.1f} ms CPU")


if __name__ == "__main__":
    main()
