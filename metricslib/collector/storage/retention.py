"""Retention: whole chunks that ended before ``now - retention`` are deleted.

A chunk that straddles the cutoff is kept until its newest sample expires,
so a query may still see a little data older than the retention (as with
Prometheus blocks). Series left with no samples are forgotten, and the freed
pages go back to the file system (``PRAGMA incremental_vacuum``), so the file
shrinks rather than only stopping to grow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.sqlite import Database

__all__ = ["apply_retention", "drop_chunks"]


def apply_retention(head: Head, db: Database, retention_ms: int, now_ms: int | None = None) -> int:
    """Delete expired chunks (and emptied series); returns the number of chunks deleted.

    The caller holds the writer lock."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    cutoff = now - retention_ms
    with head.lock:
        doomed: list[tuple[MemSeries, list[int]]] = []
        for s in head.by_id.values():
            # c_maxt is sorted, so its first entry says whether anything expired.
            if s.c_maxt and s.c_maxt[0] < cutoff:
                ids = [c for c, mx in zip(s.c_ids, s.c_maxt, strict=True) if mx < cutoff]
                doomed.append((s, ids))
    return drop_chunks(head, db, doomed)


def drop_chunks(head: Head, db: Database, doomed: list[tuple[MemSeries, list[int]]],
                unknown: Sequence[int] = ()) -> int:
    """Delete these chunks of these series, and the series they leave empty; returns
    how many chunks went. Time and size retention both end here.

    ``unknown`` are stored chunks of series the head does not hold (size retention
    counts every stored chunk): they go too. The caller holds the writer lock."""
    if not doomed and not unknown:
        return 0
    with head.lock:
        gone = [s for s, ids in doomed if len(ids) == len(s.c_ids) and not s.ts and not s.pending()]
    with db.transaction() as conn:
        Database.delete_chunks(conn, [c for _, ids in doomed for c in ids] + list(unknown))
        Database.delete_series(conn, [s.sid for s in gone])
    with head.lock:
        for s, ids in doomed:
            s.drop_chunks(set(ids))
        head.forget_deleted(gone)
    db.shrink()
    return sum(len(ids) for _, ids in doomed) + len(unknown)
