"""Ingest CPU per sample inside one process: the scrape loop into the store as the server wires it.

The collector's path without the network: :class:`ScrapeLoop` (default parser,
bulk path and all) writing through :class:`ForwardingStorage` around a real
store, as ``server.py`` builds it, for T targets of 2,000 counter series each
(``bench_capacity``'s bodies, values growing every scrape). A fake transport
hands the bodies over, so the figure leaves HTTP out; the store's flush runs
every ``--flush-every`` rounds (a round is one scrape of every target), 6 being
a 30 s flush of 5 s scrapes. CPU is this process's (``time.process_time``),
so the figure holds on a loaded machine better than wall time would.

Run: PYTHONPATH=. .venv/bin/python bench/bench_ingest.py [--targets 5] [--rounds 48]
     [--flush-every 6] [--profile] [--start UNIX_S]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_capacity import REPORT_SERIES, SERIES_PER_TARGET, _bodies  # noqa: E402
from metricslib.collector.config.config import parse_config  # noqa: E402
from metricslib.collector.discovery.targetgroup import TargetGroup  # noqa: E402
from metricslib.collector.scrape.loop import ScrapeLoop  # noqa: E402
from metricslib.collector.scrape.targets import build_targets  # noqa: E402
from metricslib.collector.storage import open_storage  # noqa: E402
from metricslib.collector.storage.remote.write import ForwardingStorage  # noqa: E402


class _Bodies:
    """A transport answering each fetch with the next body."""

    def __init__(self, bodies: list[bytes]) -> None:
        self._bodies = bodies
        self._n = 0

    def fetch(self, url: str, headers: Mapping[str, str], timeout: float,
              **_: object) -> tuple[int, dict[str, str], bytes]:
        self._n += 1
        return 200, {"content-type": "text/plain; version=0.0.4"}, self._bodies[self._n % len(self._bodies)]


def run(targets: int, rounds: int, flush_every: int, profile: bool, start: float | None = None) -> float:
    bodies = _bodies()
    addresses = [f"127.0.0.1:{9000 + i}" for i in range(targets)]
    config = ("scrape_configs:\n  - job_name: ingest\n    scrape_interval: 5s\n"
              f"    static_configs: [{{targets: [{', '.join(repr(a) for a in addresses)}]}}]\n")
    sc = parse_config(config, "bench.yml").scrape_configs[0]
    group = TargetGroup("b", tuple((("__address__", a),) for a in addresses))
    with tempfile.TemporaryDirectory() as d:
        store = open_storage(Path(d), flush_interval_s=3600.0)  # flushed below, on the bench's schedule
        storage = ForwardingStorage(store, [])  # as server.py wraps it
        now = [time.time() if start is None else start]
        loops = [ScrapeLoop(t, sc, storage, _Bodies(bodies), clock=lambda: now[0])  # type: ignore[arg-type]
                 for t in build_targets(sc, [group])[0]]
        for _ in range(2):  # the first scrapes create the series; the second learns the bodies' shape
            now[0] += 5
            for loop in loops:
                assert loop.scrape_once(), loop.target.last_error
        store.flush()
        profiler = cProfile.Profile() if profile else None
        cpu = time.process_time()
        if profiler is not None:
            profiler.enable()
        for n in range(1, rounds + 1):
            now[0] += 5
            for loop in loops:
                loop.scrape_once()
            if n % flush_every == 0:
                store.flush()
                store.compact()
        if profiler is not None:
            profiler.disable()
        used = time.process_time() - cpu
        store.close()
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return used / (rounds * targets * (SERIES_PER_TARGET + REPORT_SERIES)) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=48)
    ap.add_argument("--flush-every", type=int, default=6, help="rounds between flushes (6: 30 s of 5 s scrapes)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--start", type=float, default=None,
                    help="simulated clock at the start, unix seconds (default: now); fix it to compare runs, "
                         "since a run that crosses a 2 h window boundary also merges every series' window")
    args = ap.parse_args()
    results = [run(args.targets, args.rounds, args.flush_every, args.profile, args.start)
               for _ in range(args.repeat)]
    print(f"{args.targets * SERIES_PER_TARGET} series, flush every {args.flush_every} round(s): "
          f"{min(results):.3f} us/sample (best of {args.repeat}; all: {', '.join(f'{r:.3f}' for r in results)})")


if __name__ == "__main__":
    main()
