"""The scrape scheduler: slots at each target's offset, few threads, stop semantics."""

from __future__ import annotations

import http.server
import itertools
import socketserver
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.collector.scrape.loop import ScrapeLoop
from metricslib.collector.scrape.manager import Collector
from metricslib.collector.scrape.scheduler import Scheduler
from tests.collector.apps.fakes import FakeStorage


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


class FakeTarget:
    def __init__(self, name: str, offset: int, interval_ms: int) -> None:
        self.url = name
        self.interval = interval_ms
        self.offset = offset

    def offset_ns(self, seed: int = 0) -> int:
        return self.offset * 1_000_000


class FakeLoop:
    """Records each scrape's due time and start; ``gate`` holds scrapes until set."""

    def __init__(self, name: str, offset: int, interval_ms: int = 1000, gate: threading.Event | None = None) -> None:
        self.target = FakeTarget(name, offset, interval_ms)
        self.due_ms: int | None = None
        self.scrapes: list[tuple[int, float]] = []
        self.stale_marks: list[int] = []  # scrapes done when each marking happened
        self.gate = gate
        self.in_scrape = threading.Event()

    def scrape_once(self) -> bool:
        assert self.due_ms is not None
        self.scrapes.append((self.due_ms, time.time()))
        self.in_scrape.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        return True

    def mark_stale(self) -> None:
        self.stale_marks.append(len(self.scrapes))


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    s = Scheduler(time.time, max_workers=4)
    yield s
    s.close()


def test_every_loop_is_scraped_at_its_offset_in_every_interval(scheduler: Scheduler) -> None:
    loops = [FakeLoop(f"t{i}", offset) for i, offset in enumerate((0, 300, 700))]
    handles = [scheduler.add(loop, seed=0) for loop in loops]  # type: ignore[arg-type]
    for h in handles:
        h.start()
    wait_for(lambda: all(len(loop.scrapes) >= 3 for loop in loops))
    for h in handles:
        h.stop(stale=False)
        assert h.join(10)
    for loop in loops:
        dues = [due for due, _ in loop.scrapes]
        assert all(due % 1000 == loop.target.offset for due in dues)
        assert all(b > a and (b - a) % 1000 == 0 for a, b in itertools.pairwise(dues))
        assert all(started >= due / 1000 for due, started in loop.scrapes)  # never early
        assert loop.stale_marks == []


def test_a_clock_that_stands_still_does_not_stall_the_schedule() -> None:
    """The waits run in monotonic time, as ScrapeLoop.run's do; the clock only names the slots."""
    scheduler = Scheduler(lambda: 1000.25, max_workers=1)
    loop = FakeLoop("t", 0)
    handle = scheduler.add(loop, seed=0)  # type: ignore[arg-type]
    try:
        handle.start()
        wait_for(lambda: len(loop.scrapes) >= 2)
    finally:
        handle.stop(stale=False)
        scheduler.close()
    assert [due for due, _ in loop.scrapes[:2]] == [1_001_000, 1_002_000]


def test_a_target_stopped_mid_scrape_gets_its_markers_after_that_scrape(scheduler: Scheduler) -> None:
    gate = threading.Event()
    loop = FakeLoop("slow", 0, gate=gate)
    handle = scheduler.add(loop, seed=0)  # type: ignore[arg-type]
    handle.start()
    assert loop.in_scrape.wait(10)
    handle.stop(stale=True)
    assert loop.stale_marks == [] and not handle.join(0)
    gate.set()
    assert handle.join(10)
    assert loop.stale_marks == [1] and len(loop.scrapes) == 1  # no scrape after the stop


def test_a_target_stopped_between_scrapes_is_marked_stale_and_never_scraped_again(scheduler: Scheduler) -> None:
    loop = FakeLoop("t", 0, interval_ms=3_600_000)  # next slot within the hour
    handle = scheduler.add(loop, seed=0)  # type: ignore[arg-type]
    handle.start()
    handle.stop(stale=True)
    assert handle.join(10)
    assert loop.stale_marks == [0] and loop.scrapes == []


def test_a_target_never_started_is_marked_at_once(scheduler: Scheduler) -> None:
    loop = FakeLoop("t", 0)
    handle = scheduler.add(loop, seed=0)  # type: ignore[arg-type]
    handle.stop(stale=True)
    assert handle.join(0) and loop.stale_marks == [0]
    handle.start()  # a stopped target stays stopped
    assert scheduler.threads == 0


def test_stopping_without_staleness_writes_no_markers(scheduler: Scheduler) -> None:
    loop = FakeLoop("t", 0, interval_ms=3_600_000)
    handle = scheduler.add(loop, seed=0)  # type: ignore[arg-type]
    handle.start()
    handle.stop(stale=False)
    assert handle.join(10) and loop.stale_marks == []


def test_scrapes_in_flight_never_exceed_the_pool() -> None:
    gate = threading.Event()
    scheduler = Scheduler(time.time, max_workers=2)
    loops = [FakeLoop(f"t{i}", i * 10, gate=gate) for i in range(10)]
    handles = [scheduler.add(loop, seed=0) for loop in loops]  # type: ignore[arg-type]
    try:
        for h in handles:
            h.start()
        wait_for(lambda: sum(loop.in_scrape.is_set() for loop in loops) == 2)
        # Every target is due within the second, but the two workers are held.
        time.sleep(1.2)
        assert sum(loop.in_scrape.is_set() for loop in loops) == 2
        assert scheduler.threads == 3  # the timer and two workers
        gate.set()
        wait_for(lambda: all(loop.scrapes for loop in loops))
    finally:
        gate.set()
        for h in handles:
            h.stop(stale=False)
        scheduler.close()


# --- 1,000 targets through the Collector, over real sockets ------------------------------


class _Server(socketserver.TCPServer):
    allow_reuse_address = True
    request_queue_size = 1024  # a burst of connections waits in the backlog


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE m gauge\nm 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def cheap_target() -> Iterator[str]:
    """One single-threaded HTTP server on 127.0.0.1: the targets differ by labels only."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_thousand_targets_run_on_a_few_threads_each_at_its_offset(
    tmp_path: Path, cheap_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 1000
    path = tmp_path / "prometheus.yml"
    groups = "".join(f"      - targets: ['{cheap_target}']\n        labels: {{shard: '{i}'}}\n" for i in range(n))
    path.write_text("global:\n  scrape_interval: 3s\n  scrape_timeout: 2s\nscrape_configs:\n"
                    "  - job_name: many\n    static_configs:\n" + groups)
    scrapes: dict[str, list[tuple[int, float]]] = defaultdict(list)
    most_threads = [0]
    real_scrape_once = ScrapeLoop.scrape_once

    def recording(self: ScrapeLoop) -> bool:
        assert self.due_ms is not None
        scrapes[self.target.labels["shard"]].append((self.due_ms, time.time()))
        most_threads[0] = max(most_threads[0], threading.active_count())
        return real_scrape_once(self)

    monkeypatch.setattr(ScrapeLoop, "scrape_once", recording)
    before = threading.active_count()
    storage = FakeStorage()
    c = Collector(str(path), storage)  # type: ignore[arg-type]
    c.start()
    try:
        wait_for(lambda: len(scrapes) == n and all(len(s) >= 2 for s in list(scrapes.values())), timeout=180)
        loops = {r.loop.target.labels["shard"]: r.loop for p in c._pools.values() for r in p.loops.values()}
    finally:
        c.stop()
    assert len(loops) == n
    assert most_threads[0] - before <= 40  # discovery + timer + 32 workers, not 1,000
    offsets = set()
    for shard, loop in loops.items():
        offset = loop.target.offset_ns(c._seed) // 1_000_000
        offsets.add(offset)
        dues = [due for due, _ in scrapes[shard]]
        assert all(due % 3000 == offset for due in dues), shard
        assert all(b > a for a, b in itertools.pairwise(dues)), shard
        assert all(started >= due / 1000 for due, started in scrapes[shard]), shard
    assert len(offsets) > n // 2  # the targets spread over the interval
    assert threading.active_count() <= before + 1  # the pool is gone after stop()
