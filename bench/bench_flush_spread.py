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
from metricslib.collector.storage.flush import flush
from metricslib.collector.storage.store import CUTS_PER_PASS, MERGES_PER_PASS

WINDOW_MS = 7_200_000
STEP_MS = 5000


def run(series: int, before: int, steps: int, spread: bool, data_dir: Path) -> list[float]:
    store = open_storage(data_dir, background=False, retention_ms=10**15)
    try:
        refs = [store.series_ref((("__name__", "x"), ("series", str(i)))) for i in range(series)]
        t0 = 100 * WINDOW_MS - before * STEP_MS  # the window flips at step ``before``
        passes: list[float] = []
        for k in range(steps):
            app = store.appender()
            app.append_column(refs, t0 + k * STEP_MS, [float(k + i % 7) for i in range(series)])
            app.commit()
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
    args = parser.parse_args()
    print("| mode | longest pass, CPU s | 2nd | 5th | median | passes over 0.5 s | total CPU s |")
    print("|---|---|---|---|---|---|---|")
    for spread in (False, True):
        tmp = Path(tempfile.mkdtemp(prefix="bench_flush_spread."))
        try:
            passes = run(args.series, args.before, args.before + args.after, spread, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        s = sorted(passes, reverse=True)
        mode = "spread over passes" if spread else "all at once"
        print(f"| {mode} | {s[0]:.2f} | {s[1]:.2f} | {s[4]:.2f} | {s[len(s) // 2]:.3f} "
              f"| {sum(p > 0.5 for p in passes)} | {sum(passes):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
