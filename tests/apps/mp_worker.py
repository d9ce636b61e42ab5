"""A stand-in worker driven over stdin, for tests/multiprocess/test_multiprocess.py.

Usage: ``python mp_worker.py DIRECTORY [SNAPSHOT_INTERVAL] [TIMEOUT]``. Commands,
one per line: ``inc KIND AMOUNT``, ``peak VALUE``, ``setting VALUE``, ``state NAME``, ``scrape``
(prints the aggregated samples as one JSON line), ``spin`` (counts forever, printing
after each round how many rounds are complete: for a test that SIGKILLs it), ``exit``.
"""

from __future__ import annotations

import json
import os
import sys

from metricslib import multiprocess
from metricslib.instruments import Counter, Enum, Gauge, Histogram, Info, Summary
from metricslib.registry import Registry


def main() -> None:
    directory = sys.argv[1]
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    registry = Registry()
    jobs = Counter("jobs", "Jobs done.", ["kind"], registry=registry)
    seconds = Histogram("job_seconds", "Job time.", buckets=(0.1, 1.0), registry=registry)
    up = Gauge("worker_up", "Live workers.", registry=registry, multiprocess_mode="livesum")
    peak = Gauge("peak", "Highest value seen.", registry=registry)
    multiprocess.set_gauge_mode(peak, "max")
    Gauge("temperature", "Per worker.", registry=registry).set(os.getpid() % 1000)
    Info("build", "Build.", registry=registry).info({"version": "1.2"})
    setting = Gauge("setting", "Last value set.", registry=registry, multiprocess_mode="mostrecent")
    state = Enum("phase", "Phase.", states=["idle", "busy"], registry=registry)
    sizes = Summary("job_size", "Job size.", registry=registry)
    spun = Gauge("spun", "Rounds, summed.", registry=registry, multiprocess_mode="sum")
    up.set(1)
    aggregated = multiprocess.setup(
        directory, registry, snapshot_interval=interval, timeout=timeout
    )
    print("ready", os.getpid(), flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "inc":
            jobs.labels(args[0]).inc(float(args[1]))
            seconds.observe(0.5)
        elif cmd == "peak":
            peak.set(float(args[0]))
        elif cmd == "setting":
            setting.set(float(args[0]))
        elif cmd == "state":
            state.state(args[0])
        elif cmd == "scrape":
            samples = [[s.name, s.labels, s.value] for f in aggregated.collect() for s in f.samples]
            print(json.dumps(samples), flush=True)
            continue
        elif cmd == "spin":
            rounds = 0
            spinner = jobs.labels("spin")
            while True:
                spinner.inc()
                seconds.observe(0.05)
                sizes.observe(2.0)
                spun.inc()
                peak.set(rounds + 1)
                rounds += 1
                os.write(1, f"{rounds}\n".encode())
        elif cmd == "exit":
            break
        print("ok", flush=True)


if __name__ == "__main__":
    main()
