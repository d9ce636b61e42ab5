"""Counters the scrape stage keeps about itself, read by the collector's ``/metrics``.

Named after what Prometheus exposes (``prometheus_target_*``) so existing
dashboards read them; the web stage turns them into metric families at
scrape time. Updates are a lock and an addition: they sit on the scrape
path once per scrape, never per sample.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["QUANTILES", "ScrapeStats", "WindowQuantiles"]

#: The quantiles Prometheus's own summaries report.
QUANTILES = (0.01, 0.05, 0.5, 0.9, 0.99)
_WINDOW_S = 600.0  # Prometheus's summaries forget observations after 10 minutes
_MAX_KEPT = 2048


class WindowQuantiles:
    """A summary: quantiles over the last ten minutes, count and sum since start."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._recent: deque[tuple[float, float]] = deque(maxlen=_MAX_KEPT)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        self._recent.append((self._clock(), value))
        self.count += 1
        self.total += value

    def quantiles(self, qs: Sequence[float] = QUANTILES) -> list[tuple[float, float]]:
        """(quantile, value) pairs; NaN when nothing was observed in the window, as Prometheus."""
        horizon = self._clock() - _WINDOW_S
        while self._recent and self._recent[0][0] < horizon:
            self._recent.popleft()
        values = sorted(v for _, v in self._recent)
        if not values:
            return [(q, float("nan")) for q in qs]
        return [(q, values[min(len(values) - 1, int(q * len(values)))]) for q in qs]


@dataclass
class ScrapeStats:
    """Everything the scrape stage counts; one instance per collector, shared by its loops."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    #: interval as configured ("15s") -> time actually between two scrapes of a target
    interval_length: dict[str, WindowQuantiles] = field(default_factory=dict)
    exceeded_sample_limit: int = 0
    exceeded_body_size_limit: int = 0
    sample_out_of_order: int = 0
    scrapes_failed: int = 0
    #: job -> syncs of its target list, and how long they took
    pool_syncs: dict[str, int] = field(default_factory=dict)
    sync_length: dict[str, WindowQuantiles] = field(default_factory=dict)
    pool_reloads: int = 0
    pool_reloads_failed: int = 0
    pools_created: int = 0

    def observe_interval(self, interval: str, seconds: float) -> None:
        with self.lock:
            summary = self.interval_length.get(interval)
            if summary is None:
                summary = self.interval_length[interval] = WindowQuantiles()
            summary.observe(seconds)

    def count_scrape(self, error: str, out_of_order: int) -> None:
        with self.lock:
            self.sample_out_of_order += out_of_order
            if not error:
                return
            self.scrapes_failed += 1
            if error.startswith("sample limit exceeded"):
                self.exceeded_sample_limit += 1
            elif error.startswith("body size limit exceeded"):
                self.exceeded_body_size_limit += 1

    def observe_sync(self, job: str, seconds: float) -> None:
        with self.lock:
            self.pool_syncs[job] = self.pool_syncs.get(job, 0) + 1
            summary = self.sync_length.get(job)
            if summary is None:
                summary = self.sync_length[job] = WindowQuantiles()
            summary.observe(seconds)
