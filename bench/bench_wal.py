"""What the write-ahead log costs at ingestion: CPU per sample with and without it.

One scrape loop (the real :class:`ScrapeLoop`: parse, target labels, metric
relabelling, staleness bookkeeping, the column fast path) ingests a body of
N series into a real store, through the same remote-write wrapper the
server uses. The body comes from memory, so the HTTP fetch, identical in
both cases, does not blur the difference. The store flushes every 5 scrapes
(1 s scrape interval, 5 s flush interval, as the collector's defaults), and
the flushes and the final close count as ingestion.

Runs alternate, log on / log off, in the same process (A B A B ...); we
report the median CPU microseconds per sample of each, and their ratio.

Run: .venv/bin/python bench/bench_wal.py [--quick] [--rounds=N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from metricslib.collector.config.config import parse_config  # noqa: E402
from metricslib.collector.config.http_client import TLSConfig  # noqa: E402
from metricslib.collector.discovery.targetgroup import TargetGroup  # noqa: E402
from metricslib.collector.scrape.loop import ScrapeLoop  # noqa: E402
from metricslib.collector.scrape.targets import build_targets  # noqa: E402
from metricslib.collector.storage import open_storage  # noqa: E402
from metricslib.collector.storage.remote.write import ForwardingStorage  # noqa: E402
from metricslib.collector.storage.wal import WriteAheadLog  # noqa: E402

QUICK = "--quick" in sys.argv
N_ROUTES = 100 if QUICK else 400
SCRAPES = 20 if QUICK else 40
ROUNDS = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--rounds=")), 3 if QUICK else 9)
FLUSH_EVERY = 5

CONFIG = """
scrape_configs:
  - job_name: bench
    scrape_interval: 1s
    static_configs: [{targets: ["127.0.0.1:9"], labels: {env: bench}}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
"""


def body(k: int) -> bytes:
    """A busy web service's metrics, values moved on by ``k`` (counters grow)."""
    lines = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"]
    for r in range(N_ROUTES):
        for method in ("GET", "POST"):
            for code in ("200", "404", "500"):
                lines.append(f'http_requests_total{{code="{code}",method="{method}",route="/api/r{r}"}} {r * 7 + k}')
    lines += ["# HELP http_request_duration_seconds Latency.", "# TYPE http_request_duration_seconds histogram"]
    for r in range(N_ROUTES):
        for le in ("0.01", "0.1", "1.0", "+Inf"):
            lines.append(f'http_request_duration_seconds_bucket{{le="{le}",route="/api/r{r}"}} {r + k}')
        lines.append(f'http_request_duration_seconds_sum{{route="/api/r{r}"}} {r * 0.5 + k * 0.25}')
        lines.append(f'http_request_duration_seconds_count{{route="/api/r{r}"}} {r + k}')
    return ("\n".join(lines) + "\n").encode()


class MemoryTransport:
    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.n = 0

    def fetch(self, url: str, headers: Mapping[str, str], timeout: float, *, tls: TLSConfig | None = None,
              follow_redirects: bool = True, max_body: int = 0) -> tuple[int, dict[str, str], bytes]:
        self.n += 1
        return 200, {"content-type": "text/plain; version=0.0.4"}, self.bodies[self.n % len(self.bodies)]


def run(wal: bool, tmp: Path, bodies: list[bytes]) -> tuple[float, int]:
    sc = parse_config(CONFIG, "bench.yml").scrape_configs[0]
    store = open_storage(tmp, flush_interval_s=5.0, background=False, wal=wal)
    storage = ForwardingStorage(store, [])
    now = [1_700_000_000.0]
    targets, _ = build_targets(sc, [TargetGroup("b", ((("__address__", "127.0.0.1:9"),),))])
    loop = ScrapeLoop(targets[0], sc, storage, MemoryTransport(bodies), clock=lambda: now[0])  # type: ignore[arg-type]
    for _ in range(2):  # the first scrape creates every series; the second settles the column path
        now[0] += 1
        assert loop.scrape_once(), loop.target.last_error
    store.flush()
    before = store.stats().samples
    cpu = time.process_time()
    for i in range(SCRAPES):
        now[0] += 1
        assert loop.scrape_once(), loop.target.last_error
        if (i + 1) % FLUSH_EVERY == 0:
            store.flush()
    store.flush()
    used = time.process_time() - cpu
    samples = store.stats().samples - before
    storage.close()
    return used, samples


def main() -> None:
    bodies = [body(k) for k in range(7)]
    per: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as d:
        for r in range(ROUNDS):
            for wal in (True, False) if r % 2 == 0 else (False, True):
                cpu, samples = run(wal, Path(d) / f"r{r}-{wal}", bodies)
                per[wal].append(cpu / samples * 1e6)
                print(f"round {r} wal={'on ' if wal else 'off'}: {samples} samples, {cpu:.3f} CPU-s, "
                      f"{per[wal][-1]:.3f} us/sample", flush=True)
    on, off = statistics.median(per[True]), statistics.median(per[False])
    print(f"series per scrape: {N_ROUTES * 12 + 5}; scrapes per run: {SCRAPES}; runs per mode: {ROUNDS}")
    print(f"median us/sample: with log {on:.3f}, without {off:.3f}; ratio with/without {on / off:.3f}")
    ratios = sorted(a / b for a, b in zip(per[True], per[False], strict=True))
    print(f"per-round ratios: {', '.join(f'{x:.3f}' for x in ratios)}")
    # The log's own work per commit, alone: one column of this size, logged again and again.
    n = N_ROUTES * 12
    refs, values = list(range(1, n + 1)), [float(i) * 1.5 for i in range(n)]
    with tempfile.TemporaryDirectory() as d:
        log = WriteAheadLog(Path(d))
        cpu = time.process_time()
        for k in range(500):
            log.log_samples(list(refs), [k] * n, values)
        alone = (time.process_time() - cpu) / (500 * n) * 1e6
        log.close()
    print(f"log_samples alone: {alone:.3f} us/sample, i.e. {alone / off:.1%} of the ingest cost without the log")


if __name__ == "__main__":
    main()
