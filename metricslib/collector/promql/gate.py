"""How many queries run at once (Prometheus's ``--query.max-concurrency``).

Queries past the limit wait in line for a slot; the wait counts against the
query's timeout, and one that times out in line fails as Prometheus's does
("query timed out in query queue"). The GIL makes Python threads take turns,
so a few heavy queries at a time also leaves the scrapes and ``/-/healthy``
their share of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from metricslib.errors import QueryTimeoutError
from metricslib.metric_families import GaugeMetricFamily
from metricslib.model import MetricFamily

__all__ = ["DEFAULT_MAX_CONCURRENCY", "QueryGate"]

#: Prometheus's default for ``--query.max-concurrency``.
DEFAULT_MAX_CONCURRENCY = 20


class QueryGate:
    """A counting gate shared by every query of one server."""

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        if max_concurrency < 1:
            raise ValueError(f"query max concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self.waiting = 0
        self.running = 0

    @contextmanager
    def slot(self, deadline: float) -> Iterator[None]:
        """Hold a slot while the block runs; wait for one until ``deadline`` (monotonic)."""
        with self._lock:
            self.waiting += 1
        try:
            acquired = self._slots.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self.waiting -= 1
        if not acquired:
            raise QueryTimeoutError("query timed out in query queue")
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()

    def collect(self) -> Iterable[MetricFamily]:
        """Prometheus's own gauges for the queue, for the collector's ``/metrics``."""
        yield GaugeMetricFamily(
            "prometheus_engine_queries",
            "The current number of queries being executed or waiting.",
            value=self.running + self.waiting,
        )
        yield GaugeMetricFamily(
            "prometheus_engine_queries_concurrent_max",
            "The max number of concurrent queries.",
            value=self.max_concurrency,
        )
