"""Counters every scrape loop of a collector adds to, for the collector's own ``/metrics``.

One object per :class:`~metricslib.collector.scrape.manager.Collector`, shared
by its loops (a loop adds once per scrape, and only when it has something to
add), so totals survive loops that reloads and target changes replace.
"""

from __future__ import annotations

import threading

__all__ = ["ScrapeCounters"]


class ScrapeCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: samples dropped because their series came earlier in the same scrape
        #: (Prometheus's ``prometheus_target_scrapes_sample_duplicate_timestamp_total``)
        self.duplicate_timestamp = 0

    def add_duplicates(self, n: int) -> None:
        with self._lock:
            self.duplicate_timestamp += n
