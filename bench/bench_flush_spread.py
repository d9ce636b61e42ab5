"""The storage flush thread's passes around a window boundary: all due work at
once against the work spread over passes (``CUTS_PER_PASS``, ``MERGES_PER_PASS``).

In process, no scraping: N series get one sample every 5 s (one
``append_column`` commit per step), and after each step one background pass
runs exactly as the flush thread runs it (a flush, then a compaction pass).
The first ``--before`` steps (250: two 120-sample cuts) fill the end of a
2 h window, so that step crosses the boundary: every series' head must be cut
and every series' chunks of the finished window merged, the moment that took
the interpreter for tens of seconds at 200k series.
Each pass's CPU time (``time.process_time``) is recorded; the run prints the
longest passes and the total for both modes, one after the other in one
process.

    .venv/bin/python bench/bench_flush_spread.py [--series 50000] [--before 250] [--after 50]
        [--target-series 2000] [--flush-every 6]

``--target-series`` commits the series as scrape loops do, one kept
``ColumnRefs`` per target (the head's column blocks), and ``--flush-every``
runs a pass every that many steps (6: the collector's 30 s flush of 5 s scrapes).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metricslib.collector.storage import compaction, open_storage
from metricslib.collector.storage.columns import ColumnRefs
from metricslib.collector.storage.flush import flush
from metricslib.collector.storage.store import CUTS_PER_PASS, MERGES_PER_PASS

WINDOW_MS = 7_200_000
STEP_MS = 5000


def run(series: int, before: int, steps: int, spread: bool, data_dir: Path, target_series: int = 0,
        flush_every: int = 1) -> list[float]:
    store = open_storage(data_dir, background=False, retention_ms=10**15)
    try:
        refs = [store.series_ref((("__name__", "x"), ("series", str(i)))) for i in range(series)]
        # As scrape loops commit: one kept ColumnRefs per target (the head's column blocks).
        columns: list[list[int]] = (
            [ColumnRefs(refs[i : i + target_series]) for i in range(0, series, target_series)]
            if target_series else [refs])
        t0 = 100 * WINDOW_MS - before * STEP_MS  # the window flips at step ``before``
        passes: list[float] = []
        for k in range(steps):
            for column in columns:
                app = store.appender()
                app.append_column(column, t0 + k * STEP_MS, [float(k + i % 7) for i in range(len(column))])
                app.commit()
            if k % flush_every:
                continue
            started = time.process_time()
            flush(store.head, store.db, head_chunk_samples=store.head_chunk_samples, wal=store.wal,
                  max_cuts=CUTS_PER_PASS if spread else None)
            compaction.run_compaction(store.head, store.db, store.chunks, final=False,
                                      max_jobs=MERGES_PER_PASS if spread else None)
            passes.append(time.process_time() - started)
        return passes
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--before", type=int, default=250, help="steps before the window boundary")
    parser.add_argument("--after", type=int, default=50, help="steps after it")
    parser.add_argument("--target-series", type=int, default=0,
                        help="commit a ColumnRefs per target of this many series, as scrape loops do (0: one list)")
    parser.add_argument("--flush-every", type=int, default=1, help="steps between passes")
    args = parser.parse_args()
    print("| mode | longest pass, CPU s | 2nd | 5th | median | passes over 0.5 s | total CPU s |")
    print("|---|---|---|---|---|---|---|")
    for spread in (False, True):
        tmp = Path(tempfile.mkdtemp(prefix="bench_flush_spread."))
        try:
            passes = run(args.series, args.before, args.before + args.after, spread, tmp,
                         args.target_series, args.flush_every)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        s = sorted(passes, reverse=True)
        mode = "spread over passes" if spread else "all at once"
        print(f"| {mode} | {s[0]:.2f} | {s[1]:.2f} | {s[4]:.2f} | {s[len(s) // 2]:.3f} "
              f"| {sum(p > 0.5 for p in passes)} | {sum(passes):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
