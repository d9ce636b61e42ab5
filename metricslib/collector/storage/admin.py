"""Admin operations on the store: deleting series data, snapshots, size-based retention.

Prometheus deletes with tombstones that a later ``clean_tombstones`` folds
into rewritten blocks. Here a deletion rewrites the chunks concerned at once
(one transaction), so queries stop seeing the data immediately and
``clean_tombstones`` only has free pages to hand back to the file system.
As in Prometheus, a deletion covers the samples present when it runs: a
series still being scraped goes on receiving new ones.

A snapshot is SQLite's online backup of the whole file, taken between two
flushes, so it is a consistent store a new collector can open as its data
directory.
"""

from __future__ import annotations

import os
import sqlite3
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from metricslib.collector.model import Matcher
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.chunks import encode_chunk
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.retention import drop_chunks
from metricslib.collector.storage.sqlite import DB_FILE, Database
from metricslib.errors import StorageCorruptionError, StorageError

__all__ = ["SNAPSHOT_DIR", "apply_size_retention", "delete_series", "snapshot"]

SNAPSHOT_DIR = "snapshots"


def delete_series(
    head: Head, db: Database, chunks: ChunkReader, matcher_sets: Sequence[Sequence[Matcher]], mint: int, maxt: int
) -> int:
    """Remove every sample in [mint, maxt] of the series matching any matcher set.

    The caller holds the writer lock and has flushed with ``cut_all`` (so no
    WAL row holds a sample of the head buffers). Returns the series touched."""
    with head.lock:
        sids: set[int] = set()
        for matchers in matcher_sets:
            sids |= head.index.select(matchers)
        targets = [head.by_id[sid] for sid in sorted(sids)]
        jobs = [(s, s.chunks_in(mint, maxt)) for s in targets]
    jobs = [(s, ids) for s, ids in jobs if ids]
    writes: list[tuple[MemSeries, list[int], list[tuple[bytes, int, int, int]]]] = []
    for s, ids in jobs:
        arrays = chunks.arrays(ids)
        if len(arrays) != len(ids):
            raise StorageCorruptionError(f"chunks of series {s.labels} vanished during deletion")
        kept: list[tuple[bytes, int, int, int]] = []
        for cid in ids:
            ts, vs = arrays[cid]
            keep = (ts < mint) | (ts > maxt)
            if keep.any():
                t, v = ts[keep], vs[keep]
                kept.append((encode_chunk(t, v), int(t[0]), int(t[-1]), int(t.size)))
        writes.append((s, ids, kept))
    added: list[tuple[MemSeries, list[int], list[tuple[int, int, int, int]]]] = []
    if writes:
        with db.transaction() as conn:
            for s, ids, kept in writes:
                Database.delete_chunks(conn, ids)
                metas = [(Database.insert_chunk(conn, s.sid, mn, mx, n, blob), mn, mx, n) for blob, mn, mx, n in kept]
                added.append((s, ids, metas))
    gone: list[MemSeries] = []
    with head.lock:
        head.settle()  # rows committed since the caller's flush: in the series' buffers
        for s, ids, metas in added:
            s.drop_chunks(set(ids))
            for cid, mn, mx, n in metas:
                s.add_chunk(cid, mn, mx, n)
        for s in targets:
            # Head samples appended since the caller's flush: none is in a WAL row yet.
            lo = max(bisect_left(s.ts, mint), s.flushed)
            hi = bisect_right(s.ts, maxt)
            if lo < hi:
                del s.ts[lo:hi]
                del s.vs[lo:hi]
            if s.is_empty():
                gone.append(s)
    if gone:
        with db.transaction() as conn:
            Database.delete_series(conn, [s.sid for s in gone if s.persisted])
        with head.lock:
            head.forget_deleted(gone)
    return len(targets)


def snapshot_name(now: float | None = None) -> str:
    """Prometheus's snapshot directory name: UTC time and 16 random hex digits."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{os.urandom(8).hex()}"


def snapshot(db: Database, *, skip_head: bool, now: float | None = None) -> str:
    """Copy the store into ``<data dir>/snapshots/<name>``; returns the name.

    The caller holds the writer lock and has flushed. ``skip_head`` leaves out
    the samples not yet cut into chunks (the ``wal`` table), as Prometheus's
    ``skip_head`` leaves out its in-memory head block."""
    name = snapshot_name(now)
    target = db.dir / SNAPSHOT_DIR / name
    try:
        target.mkdir(parents=True)
        dest = sqlite3.connect(target / DB_FILE)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot create snapshot directory {target}: {exc}") from exc
    try:
        db.backup_to(dest)
        if skip_head:
            dest.execute("DELETE FROM wal")
            dest.commit()
        dest.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise StorageError(f"snapshot into {target} failed: {exc}") from exc
    finally:
        dest.close()
    return name


def apply_size_retention(head: Head, db: Database, max_bytes: int) -> int:
    """Delete the oldest chunks until the chunk data fits in ``max_bytes``
    (``--storage.tsdb.retention.size``); returns how many went.

    The caller holds the writer lock. Like Prometheus, which drops whole
    blocks, this counts the stored chunk bytes, not the WAL or free pages."""
    sizes = db.chunk_sizes_oldest_first()
    excess = sum(size for _, _, size in sizes) - max_bytes
    if excess <= 0:
        return 0
    doomed: dict[int, list[int]] = {}
    for cid, sid, size in sizes:
        if excess <= 0:
            break
        doomed.setdefault(sid, []).append(cid)
        excess -= size
    with head.lock:
        series = [(head.by_id[sid], ids) for sid, ids in doomed.items() if sid in head.by_id]
    unknown = [c for sid, ids in doomed.items() if sid not in head.by_id for c in ids]
    return drop_chunks(head, db, series, unknown)

