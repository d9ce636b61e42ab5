"""Every target's scrapes on a few threads: one timer thread and a bounded pool.

The timer keeps a heap of (next due time, target) and hands each target to a
worker when its time comes; the worker scrapes, then puts the target back on
the heap at its next slot. A target is never scraped twice at once, and the
thread count is bounded by ``max_workers`` + 1 whatever the number of
targets (Prometheus runs one goroutine per target; threads cost far more).

The slots are those of :meth:`ScrapeLoop.run`: a target is scraped at its
``offset_ns(seed)`` past every multiple of its interval since the epoch,
Prometheus 2.42's own offset (:mod:`~metricslib.collector.scrape.offsets`), so
a target keeps the phase Prometheus gives it and keeps it across restarts.
Slots are integers in nanoseconds, rounded to ms only for the sample
timestamp. A scrape that overruns its interval skips to the next slot after
it ends rather than bunching up.

Workers are started on demand: a collector with three targets runs a thread
or two, one with a thousand runs ``max_workers``. A target that hangs holds
one worker for at most its ``scrape_timeout``; while more than
``max_workers`` targets hang at once, the others' scrapes wait for a free
worker and start late (the price of the bound; Prometheus has none).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from metricslib.collector.scrape.loop import ScrapeLoop
from metricslib.collector.scrape.offsets import next_slot

__all__ = ["DEFAULT_MAX_WORKERS", "Scheduled", "Scheduler"]

log = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS = 32


class Scheduled:
    """One target's loop under a :class:`Scheduler`; ``stop`` ends it."""

    def __init__(self, scheduler: Scheduler, loop: ScrapeLoop, seed: int) -> None:
        self.loop = loop
        self._scheduler = scheduler
        self.offset_ns = loop.target.offset_ns(seed)
        self.interval_ns = max(int(loop.target.interval), 1) * 1_000_000
        self.last_slot: int | None = None
        self.started = False
        self.stopped = False
        self.running = False  # a worker owns it: it is in the queue or being scraped
        self.stale_on_exit = False
        self.done = threading.Event()

    def start(self) -> None:
        """Schedule the first scrape at this target's next slot."""
        self._scheduler._start(self)

    def stop(self, stale: bool) -> None:
        """No further scrapes; with ``stale`` its series get markers once a scrape
        in progress is done (at once otherwise)."""
        self._scheduler._stop(self, stale)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until a stopped target's last scrape (and markers) are done."""
        return self.done.wait(timeout)


class Scheduler:
    """Runs :class:`ScrapeLoop` s at their slots; see the module docstring."""

    def __init__(self, clock: Callable[[], float], max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._clock = clock
        self.max_workers = max_workers
        self._lock = threading.Lock()
        self._due = threading.Condition(self._lock)  # the timer waits here
        self._work = threading.Condition(self._lock)  # idle workers wait here
        # (monotonic deadline, tie-break, slot time in ns, target)
        self._heap: list[tuple[float, int, int, Scheduled]] = []
        self._seq = itertools.count()  # ties on the due time: first come, first served
        self._queue: deque[Scheduled] = deque()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._timer: threading.Thread | None = None
        self._closed = False

    def add(self, loop: ScrapeLoop, seed: int) -> Scheduled:
        """A handle for ``loop``; it is scraped once its ``start()`` is called."""
        return Scheduled(self, loop, seed)

    @property
    def threads(self) -> int:
        """Threads started so far (timer included)."""
        with self._lock:
            return len(self._workers) + (self._timer is not None)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the timer and the workers (a scrape in progress is finished first)."""
        with self._lock:
            self._closed = True
            self._due.notify_all()
            self._work.notify_all()
            threads = [*self._workers, *([self._timer] if self._timer is not None else [])]
        for t in threads:
            t.join(timeout)

    # --- internals -------------------------------------------------------------------

    def _start(self, entry: Scheduled) -> None:
        with self._lock:
            if entry.started or entry.stopped or self._closed:
                return
            entry.started = True
            self._push(entry)
            if self._timer is None:
                self._timer = threading.Thread(target=self._run_timer, name="scrape timer", daemon=True)
                self._timer.start()

    def _stop(self, entry: Scheduled, stale: bool) -> None:
        with self._lock:
            if entry.stopped:
                return
            entry.stopped = True
            entry.stale_on_exit = stale
            if entry.running:
                return  # its worker finishes it
            if entry.started and not self._closed:
                # A worker writes the markers, as the target's own thread did: the
                # caller (a discovery sync) holds the collector's lock.
                self._dispatch(entry)  # its heap entry is skipped when it comes up
                return
        self._finish(entry)

    def _finish(self, entry: Scheduled) -> None:
        try:
            if entry.stale_on_exit:
                entry.loop.mark_stale()
        finally:
            entry.done.set()

    def _push(self, entry: Scheduled) -> None:
        """Put ``entry`` on the heap at its next slot (lock held)."""
        now = self._clock()
        # The wait is in monotonic time, as ScrapeLoop.run's is: a clock that jumps
        # (or a fake one) shifts the slots, never stalls the schedule. Read after
        # the clock, so the deadline is never before the slot.
        deadline = time.monotonic()
        now_ns = round(now * 1e9)
        slot, due_ns = next_slot(now_ns, entry.offset_ns, entry.interval_ns, entry.last_slot)
        entry.last_slot = slot
        heapq.heappush(self._heap, (deadline + (due_ns - now_ns) / 1e9, next(self._seq), due_ns, entry))
        if self._heap[0][3] is entry:
            self._due.notify()

    def _run_timer(self) -> None:
        with self._lock:
            while not self._closed:
                if not self._heap:
                    self._due.wait()
                    continue
                deadline, _, due_ns, entry = self._heap[0]
                if entry.stopped:
                    heapq.heappop(self._heap)
                    continue
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._due.wait(delay)
                    continue
                heapq.heappop(self._heap)
                entry.loop.due_ms = due_ns // 1_000_000
                self._dispatch(entry)

    def _dispatch(self, entry: Scheduled) -> None:
        """Hand ``entry`` to a worker, starting one if none is idle (lock held)."""
        entry.running = True
        self._queue.append(entry)
        if self._idle > len(self._queue) - 1:
            self._work.notify()
        elif len(self._workers) < self.max_workers:
            worker = threading.Thread(target=self._run_worker, name=f"scrape worker {len(self._workers)}",
                                      daemon=True)
            self._workers.append(worker)
            worker.start()

    def _run_worker(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._idle += 1
                    self._work.wait()
                    self._idle -= 1
                if not self._queue:
                    return
                entry = self._queue.popleft()
                skip = entry.stopped
            if not skip:
                try:
                    entry.loop.scrape_once()
                except Exception:  # never let one bad scrape end a worker
                    log.exception("scrape loop of %s", entry.loop.target.url)
            with self._lock:
                entry.running = False
                finished = entry.stopped
                if not finished and not self._closed:
                    self._push(entry)
            if finished:
                self._finish(entry)
