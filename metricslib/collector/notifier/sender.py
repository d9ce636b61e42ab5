"""One Alertmanager's send loop: its own bounded queue, batches of 64, one thread.

Every Alertmanager gets its own queue and thread (as Prometheus 3 does), so
one that is down or hangs until its ``timeout`` holds up only its own queue.
The queue drops its oldest alerts when full and counts them. A batch that
fails with a connection error, a timeout, a 5xx or a 429 is retried with
exponential backoff (``min_backoff`` doubling to ``max_backoff``) up to
``max_attempts`` times, then dropped and counted; a 4xx is not retried, as the
same body would be refused again. (Prometheus itself sends once and relies on
the rule evaluator re-sending firing alerts every minute; the retries make a
restarting Alertmanager lose nothing in between.)
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from metricslib.collector.config.alerting import AlertmanagerConfig
from metricslib.collector.config.http_connect import auth_headers
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.notifier.payload import encode_alerts
from metricslib.collector.notifier.transport import Poster

__all__ = ["MAX_BATCH_SIZE", "USER_AGENT", "SendStats", "Sender"]

log = logging.getLogger(__name__)

#: Prometheus 2.42's maxBatchSize.
MAX_BATCH_SIZE = 64
USER_AGENT = "Prometheus/2.42.0 (metricslib)"


#: Prometheus's summary window for ``prometheus_notifications_latency_seconds``.
LATENCY_WINDOW_S = 600.0
_LATENCY_KEEP = 10_000


@dataclass
class SendStats:
    """Counters of one Alertmanager URL; they outlive its sender, as Prometheus's do."""

    sent: int = 0  # alerts delivered (2xx)
    errors: int = 0  # alerts in failed requests, each attempt counted
    dropped: int = 0  # alerts given up on: queue overflow, retries exhausted, 4xx, shutdown
    latency_count: int = 0
    latency_sum: float = 0.0
    #: (monotonic time, seconds) of recent requests, for the summary's quantiles.
    recent: collections.deque[tuple[float, float]] = field(
        default_factory=lambda: collections.deque(maxlen=_LATENCY_KEEP))

    def observe(self, now: float, seconds: float) -> None:
        self.latency_count += 1
        self.latency_sum += seconds
        self.recent.append((now, seconds))

    def quantiles(self, now: float, qs: Sequence[float]) -> list[float]:
        """The ``qs`` quantiles of the last ten minutes' latencies (NaN without any, as Go's summary)."""
        values = sorted(v for t, v in list(self.recent) if now - t <= LATENCY_WINDOW_S)
        if not values:
            return [math.nan for _ in qs]
        return [values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))] for q in qs]


class Sender:
    """Queue and send loop of one Alertmanager URL."""

    def __init__(
        self,
        url: str,
        config: AlertmanagerConfig,
        poster: Poster,
        stats: SendStats,
        *,
        capacity: int = 10_000,
        batch_size: int = MAX_BATCH_SIZE,
        max_attempts: int = 3,
        min_backoff: float = 0.5,
        max_backoff: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.config = config
        self.stats = stats
        self._poster = poster
        self._capacity = capacity
        self._batch_size = batch_size
        self._max_attempts = max(1, max_attempts)
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._monotonic = monotonic
        self._queue: collections.deque[Alert] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""

    # --- producer side ------------------------------------------------------------------

    def add(self, alerts: Sequence[Alert]) -> None:
        """Queue ``alerts``; never blocks: past capacity the oldest are dropped and counted."""
        with self._cond:
            if self._stopping.is_set():
                self.stats.dropped += len(alerts)
                return
            self._queue.extend(alerts)
            overflow = len(self._queue) - self._capacity
            if overflow > 0:
                for _ in range(overflow):
                    self._queue.popleft()
                self.stats.dropped += overflow
                log.warning("notifier: queue for %s full, dropped %d oldest alerts", self.url, overflow)
            self._cond.notify()

    def queue_length(self) -> int:
        with self._cond:
            return len(self._queue)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"notifier {self.url}", daemon=True)
        self._thread.start()

    def stop(self, drain_for: float = 0.0) -> None:
        """Send what is queued for at most ``drain_for`` seconds, then drop the rest (counted)."""
        deadline = self._monotonic() + drain_for
        self._stopping.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(max(0.0, drain_for))
        while drain_for > 0 and self._thread is None and self._monotonic() < deadline:
            if not self.send_next():
                break
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
        if left:
            self.stats.dropped += left
            log.warning("notifier: %d alerts for %s dropped at shutdown", left, self.url)

    # --- sending ------------------------------------------------------------------------

    def _take(self, wait: bool) -> list[Alert]:
        with self._cond:
            while wait and not self._queue and not self._stopping.is_set():
                self._cond.wait()
            count = min(len(self._queue), self._batch_size)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            batch = self._take(wait=True)
            if not batch:
                return  # stopping, queue empty
            self._deliver(batch)

    def send_next(self) -> bool:
        """Send one batch in the caller's thread (tests and shutdown); False when the queue is empty."""
        batch = self._take(wait=False)
        if not batch:
            return False
        self._deliver(batch)
        return True

    def _deliver(self, batch: list[Alert]) -> None:
        body = encode_alerts(batch)
        backoff = self._min_backoff
        for attempt in range(1, self._max_attempts + 1):
            retry = self.send_once(batch, body)
            if retry is None:
                return
            if not retry or attempt == self._max_attempts:
                break
            # Stopping cuts the backoff short; the last attempt still happens.
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, self._max_backoff)
        self.stats.dropped += len(batch)
        log.error("notifier: giving up on %d alerts for %s: %s", len(batch), self.url, self.last_error)

    def send_once(self, batch: Sequence[Alert], body: bytes) -> bool | None:
        """One POST: None on success, else whether the failure is worth retrying."""
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   **auth_headers(self.config.http)}
        begin = self._monotonic()
        try:
            status, text = self._poster.post(self.url, body, headers, self.config.timeout.seconds,
                                             self.config.http)
        except Exception as exc:  # the transport's own errors, and a broken fake or TLS file alike
            status, text = 0, str(exc).encode()
        if 200 <= status < 300:
            self.stats.sent += len(batch)
            end = self._monotonic()
            self.stats.observe(end, end - begin)
            self.last_error = ""
            return None
        detail = text[:200].decode("utf-8", "replace").strip()
        self.last_error = f"bad response status {status}: {detail}" if status else detail
        self.stats.errors += len(batch)
        log.warning("notifier: error sending %d alerts to %s: %s", len(batch), self.url, self.last_error)
        return status == 0 or status >= 500 or status == 429
