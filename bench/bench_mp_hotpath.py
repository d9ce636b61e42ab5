"""Per-increment cost in multi-worker mode: before/after the value file, and prometheus_client.

Three kinds of worker process, run interleaved (A B C A B C ...) so machine
load hits them alike; each measures the same operations on cached children:

- ``plain``: metricslib without ``multiprocess.setup`` (what the hot path cost
  before values were written through: instruments were private lists);
- ``file``: metricslib after ``multiprocess.setup`` (cells in the worker's mmap file);
- ``pc``: prometheus_client in multiprocess mode (PROMETHEUS_MULTIPROC_DIR).

Prints the median over rounds of each kind's best-of-5 time per call, and the
ratios file/plain and file/pc (lower is better).

Run: ``.venv/bin/python bench/bench_mp_hotpath.py [ROUNDS]`` (about a minute for 5 rounds).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NUMBER = 200_000
OPS = ("counter.inc", "labelled.inc", "gauge.inc", "histogram.observe", "summary.observe")
KINDS = ("plain", "file", "pc")


def best_ns(stmt: Any) -> float:
    return min(timeit.repeat(stmt, number=NUMBER, repeat=5)) / NUMBER * 1e9


def measure(kind: str, directory: str) -> dict[str, float]:
    if kind == "pc":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # must precede the import
        import prometheus_client as lib

        reg = lib.CollectorRegistry()
        counter: Any = lib.Counter("c", "C.", registry=reg)
        labelled: Any = lib.Counter("l", "L.", ["k"], registry=reg).labels("a")
        gauge: Any = lib.Gauge("g", "G.", registry=reg, multiprocess_mode="sum")
        hist: Any = lib.Histogram("h", "H.", registry=reg)
        summ: Any = lib.Summary("s", "S.", registry=reg)
    else:
        from metricslib import instruments as lib2
        from metricslib import multiprocess
        from metricslib.registry import Registry

        reg2 = Registry()
        counter = lib2.Counter("c", "C.", registry=reg2)
        labelled = lib2.Counter("l", "L.", ["k"], registry=reg2).labels("a")
        gauge = lib2.Gauge("g", "G.", registry=reg2, multiprocess_mode="sum")
        hist = lib2.Histogram("h", "H.", registry=reg2)
        summ = lib2.Summary("s", "S.", registry=reg2)
        if kind == "file":
            multiprocess.setup(directory, reg2, handle_sigterm=False)
            assert labelled._series is not None and gauge._default_child._series is not None
    out = {
        "counter.inc": best_ns(counter.inc),
        "labelled.inc": best_ns(labelled.inc),
        "gauge.inc": best_ns(gauge.inc),
        "histogram.observe": best_ns(lambda: hist.observe(0.2)),
        "summary.observe": best_ns(lambda: summ.observe(0.2)),
    }
    # The lambda's own call, so the observe rows compare the method alone.
    call = best_ns(lambda: None)
    out["histogram.observe"] -= call
    out["summary.observe"] -= call
    return out


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            with tempfile.TemporaryDirectory() as d:
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", kind, d],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=ROOT,
                    timeout=300,
                ).stdout
                results[kind].append(json.loads(out))
    print(f"per call, ns (median of {rounds} interleaved rounds, each best of 5 x {NUMBER:,})")
    print(f"{'operation':<20}{'plain':>8}{'file':>8}{'pc':>8}{'file/plain':>12}{'file/pc':>10}")
    for op in OPS:
        med = {k: statistics.median(r[op] for r in results[k]) for k in KINDS}
        print(
            f"{op:<20}{med['plain']:>8.0f}{med['file']:>8.0f}{med['pc']:>8.0f}"
            f"{med['file'] / med['plain']:>12.2f}{med['file'] / med['pc']:>10.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
    else:
        main()
