"""The range query's numpy work in process: this tree against a base commit, interleaved.

``sum(rate(x[5m])) by (job)`` over 1 h at a 15 s step on N counter series
(``bench_select``'s store: 15 s samples, the last 8 minutes in the head).
Base's ``range_vectorised`` and ``aggregations`` are loaded from ``git show
BASE:…`` and swapped in for theirs, so both run in one process on one store,
base and new alternating; their results are checked to be the same JSON.
Reported: CPU seconds of this thread (``time.thread_time``) per query.

    .venv/bin/python bench/bench_range_numpy.py --base d791361 [--series 50000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_select import build
from metricslib.collector.promql import aggregations, engine, range_functions, range_vectorised
from metricslib.collector.promql.engine import Engine
from metricslib.collector.storage import open_storage

ROOT = Path(__file__).resolve().parent.parent


def base_module(commit: str, path: str, name: str, tmp: Path) -> ModuleType:
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True).stdout
    file = tmp / f"{name}.py"
    file.write_bytes(source)
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", required=True, help="commit whose range_vectorised/aggregations are the base")
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-range-") as tmpdir:
        tmp = Path(tmpdir)
        base_rv = base_module(args.base, "metricslib/collector/promql/range_vectorised.py", "base_rv", tmp)
        base_agg = base_module(args.base, "metricslib/collector/promql/aggregations.py", "base_agg", tmp)
        versions = {
            "base": (base_rv.vectorised_range_function, base_agg.aggregate),
            "new": (range_vectorised.vectorised_range_function, aggregations.aggregate),
        }
        store = open_storage(tmp / "store", background=False, wal=False, cache_samples=40_000_000)
        try:
            now = build(store, args.series, 1.0, 15.0, 8.0, False)
            eng = Engine(store.querier(), max_samples=10**10, timeout_s=3600)

            def run(which: str) -> str:
                vectorised, aggregate = versions[which]
                setattr(range_functions, "vectorised_range_function", vectorised)  # noqa: B010 (a swap, for the bench)
                setattr(engine, "aggregate", aggregate)  # noqa: B010
                result = eng.range_query("sum(rate(x[5m])) by (job)", now - 3_600_000, now, 15_000)
                return json.dumps(result.to_api())

            same = run("base") == run("new")
            print(f"{args.series} series; base {args.base} and new give the same result: {same}", flush=True)
            cpu: dict[str, list[float]] = {"base": [], "new": []}
            for _ in range(args.rounds):
                for which in cpu:
                    t = time.thread_time()
                    run(which)
                    cpu[which].append(time.thread_time() - t)
            for which, ts in cpu.items():
                print(f"{which:5s} min {min(ts):.3f} s  median {statistics.median(ts):.3f} s  "
                      + " ".join(f"{x:.2f}" for x in ts))
            print(f"new / base: min {min(cpu['new']) / min(cpu['base']):.2f}, "
                  f"median {statistics.median(cpu['new']) / statistics.median(cpu['base']):.2f}")
            return 0 if same else 1
        finally:
            store.close()


if __name__ == "__main__":
    sys.exit(main())
