"""CPU cost of counting samples as Prometheus 2.42 does (``--query.max-samples``).

N counter series scraped every 15 s for 65 minutes, in process (no store: the
series are numpy arrays); each query runs with the peak accounting and with it
patched out (window counts and step peaks replaced by no-ops), alternating
on / off, and the median CPU time of each is printed with their ratio and the
query's peak. CPU time from ``getrusage``, so other load on the machine moves
it less than wall time.

    PYTHONPATH=. .venv/bin/python bench/bench_query_peak.py [--series 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import resource
from typing import Any

import numpy as np

from bench.bench_promql_engine import IndexedQuerier
from metricslib.collector.model import Series, make_labels
from metricslib.collector.promql import engine as engine_module

QUERIES = [
    ("sum by (job) (rate(x_total[5m]))", 15_000),
    ("rate(x_total[5m])", 60_000),
    ("x_total * 2", 60_000),
]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def accounting(on: bool) -> None:
    """Restore the engine's accounting, or replace it by no-ops that hold nothing."""
    if on:
        for name, real in REAL.items():
            setattr(engine_module._Evaluator, name, real)
        return

    def no_counts(rng: Any) -> Any:
        return np.zeros((len(rng.batch), 1), dtype=np.int64)

    def no_step(self: Any, base: int, inputs: Any, result: Any, n: int) -> None:
        self.samples = base

    engine_module._Evaluator._window_counts = staticmethod(no_counts)  # type: ignore[method-assign]
    engine_module._Evaluator.stepwise = no_step  # type: ignore[method-assign]


#: the class attributes themselves (the staticmethod object, not the function it wraps)
REAL: dict[str, Any] = {name: vars(engine_module._Evaluator)[name] for name in ("_window_counts", "stepwise")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ts = np.arange(0, 3_900_001, 15_000, dtype=np.int64)
    series = [
        Series(make_labels({"__name__": "x_total", "job": f"j{i % 10}", "i": str(i)}), ts,
               np.arange(1, len(ts) + 1, dtype=np.float64) * (i + 1))
        for i in range(args.series)
    ]  # fmt: skip
    engine = engine_module.Engine(IndexedQuerier(series), max_samples=10**12, timeout_s=3600)
    for expr, step in QUERIES:
        engine.range_query(expr, 300_000, 3_900_000, step)  # warm up
        times: dict[bool, list[float]] = {True: [], False: []}
        peak = 0
        for _ in range(args.rounds):
            for on in (True, False):
                accounting(on)
                began = cpu()
                result = engine.range_query(expr, 300_000, 3_900_000, step)
                times[on].append(cpu() - began)
                peak = result.samples_loaded if on else peak
        accounting(True)
        with_, without = float(np.median(times[True])), float(np.median(times[False]))
        print(f"{expr}  ({args.series} series, 1 h at {step // 1000} s): {with_:.3f} s CPU with the "
              f"accounting, {without:.3f} s without, ratio {with_ / without:.2f}; peak {peak:,}")  # fmt: skip


if __name__ == "__main__":
    main()
