"""Embedded, durable sample storage: append through an Appender, read through a Querier.

``open_storage(data_dir)`` returns a :class:`Store`; see docs/storage.md.
"""

from __future__ import annotations

from pathlib import Path

from metricslib.collector.storage.appender import StoreAppender
from metricslib.collector.storage.base import Appender, Querier, Storage
from metricslib.collector.storage.querier import StoreQuerier
from metricslib.collector.storage.store import DAY_MS, Store, StoreStats

__all__ = [
    "Appender",
    "Querier",
    "Storage",
    "Store",
    "StoreAppender",
    "StoreQuerier",
    "StoreStats",
    "open_storage",
]


def open_storage(
    data_dir: str | Path,
    *,
    retention_ms: int = 15 * DAY_MS,
    flush_interval_s: float = 5.0,
    **tuning: int | float | bool,
) -> Store:
    """Open (or create) the store in ``data_dir`` and start its flush thread.

    ``tuning`` passes the advanced knobs of :class:`Store` (``chunk_range_ms``,
    ``head_chunk_samples``, ``cache_samples``, ``retention_check_s``,
    ``background``, ``retention_bytes``, ``wal``). Close it (or use ``with``) to stop the flush thread,
    close the write-ahead log and release the directory (the next open rebuilds the head from it).
    """
    return Store(data_dir, retention_ms=retention_ms, flush_interval_s=flush_interval_s, **tuning)  # type: ignore[arg-type]
