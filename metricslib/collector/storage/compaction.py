"""Rewriting chunks: merging a finished window into one chunk per series, and
merging imported samples into what is stored.

Both go through :func:`rewrite_chunks`: decode the chunks concerned, merge
them with any extra sample runs (at equal timestamps the stored sample wins),
cut the result at window boundaries and replace the old chunks in one
transaction, so a crash leaves either the old chunks or the new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from threading import Event

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.chunks import encode_chunk
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries, merge_samples
from metricslib.collector.storage.sqlite import Database
from metricslib.errors import StorageCorruptionError

__all__ = ["import_series", "rewrite_chunks", "run_compaction"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def run_compaction(
    head: Head,
    db: Database,
    chunks: ChunkReader,
    *,
    final: bool,
    stop: Event | None = None,
    max_jobs: int | None = None,
) -> None:
    """Merge the chunks of each finished window (all windows when ``final``).

    When ``stop`` is set before the merged chunks are written, the pass gives up
    and the windows stay queued (a shutdown must not wait for a window's worth
    of decoding and encoding). ``max_jobs`` merges at most that many (series,
    window) pairs, or a 512th of those due, and leaves the rest queued: every
    series finishes a window at the same moment, and merging them all in one
    pass would take the interpreter for minutes at 200k series."""
    with head.lock:
        current = head.max_t // head.chunk_range_ms
        windows = sorted(w for w in head.compaction_due if final or w < current)
        budget = sum(len(head.compaction_due[w]) for w in windows)
        if max_jobs is not None:  # a share of the backlog too, so it drains at any series count
            budget = min(budget, max(max_jobs, budget // 512))
        due: list[tuple[int, int]] = []
        for w in windows:
            sids = head.compaction_due[w]
            while sids and len(due) < budget:
                due.append((sids.pop(), w))
            if not sids:
                del head.compaction_due[w]
        jobs: list[tuple[MemSeries, list[int]]] = []
        for sid, w in due:
            s = head.by_id.get(sid)
            if s is None:
                continue
            lo, hi = w * head.chunk_range_ms, (w + 1) * head.chunk_range_ms - 1
            ids = [s.c_ids[i] for i in s.chunk_positions_in(lo, hi) if s.c_mint[i] >= lo]
            if len(ids) > 1:
                jobs.append((s, ids))
    if not jobs:
        return
    if not rewrite_chunks(head, db, chunks, [(s, ids, []) for s, ids in jobs], stop=stop):
        with head.lock:
            for sid, w in due:
                head.compaction_due.setdefault(w, set()).add(sid)

def rewrite_chunks(
    head: Head,
    db: Database,
    chunks: ChunkReader,
    jobs: Sequence[tuple[MemSeries, list[int], list[tuple[I64, F64]]]],
    *,
    stop: Event | None = None,
) -> bool:
    """Replace chunks by one chunk per window holding their union with ``extra``
    sample runs; at equal timestamps existing samples win. One transaction.

    Returns False, having written nothing, when ``stop`` was set before the
    transaction began."""
    writes: list[tuple[MemSeries, list[int], list[tuple[bytes, int, int, int]]]] = []
    arrays: dict[int, tuple[I64, F64]] = {}
    for i, (s, ids, extra) in enumerate(jobs):
        if stop is not None and i % 64 == 0 and stop.is_set():
            return False
        if i % _DECODE_BATCH == 0:
            arrays = chunks.arrays_uncached([cid for _, ids_, _ in jobs[i : i + _DECODE_BATCH] for cid in ids_])
        if any(cid not in arrays for cid in ids):
            raise StorageCorruptionError(f"chunks of series {s.labels} vanished during rewrite")
        ts, vs = merge_samples([arrays[c] for c in ids] + list(extra))
        blobs: list[tuple[bytes, int, int, int]] = []
        if ts.size:
            windows = ts // head.chunk_range_ms
            bounds = np.flatnonzero(np.diff(windows)) + 1
            for part_t, part_v in zip(np.split(ts, bounds), np.split(vs, bounds), strict=False):
                blobs.append(
                    (encode_chunk(part_t, part_v), int(part_t[0]), int(part_t[-1]), part_t.size)
                )
        writes.append((s, ids, blobs))
    added: list[tuple[MemSeries, list[int], list[tuple[int, int, int, int]]]] = []
    with db.transaction() as conn:
        Database.insert_series(conn, [(s.sid, s.labels) for s, _, _ in writes if not s.persisted])
        for s, ids, blobs in writes:
            Database.delete_chunks(conn, ids)
            metas = [
                (Database.insert_chunk(conn, s.sid, mint, maxt, n, blob), mint, maxt, n)
                for blob, mint, maxt, n in blobs
            ]
            added.append((s, ids, metas))
    chunks.cache.discard_many([cid for _, ids, _ in added for cid in ids])
    with head.lock:
        for s, ids, metas in added:
            s.persisted = True
            s.drop_chunks(set(ids))
            for cid, mint, maxt, n in metas:
                s.add_chunk(cid, mint, maxt, n)
                if maxt >= head.newest(s)[0]:
                    head.release(s)  # its newest sample changes behind its column block
                    s.last_t, s.last_v = maxt, None
                head.max_t = max(head.max_t, maxt)
    return True

#: series whose chunks are decoded together (same-shape chunks decode as one 2-D array)
_DECODE_BATCH = 256


def import_series(head: Head, db: Database, chunks: ChunkReader, items: Iterable[tuple[Labels, I64, F64]]) -> int:
    """Backfill whole series (timestamps increasing) in one transaction.

    Samples merge with what the store holds; at a timestamp already
    present the stored value is kept. Returns the number of samples given."""
    jobs: list[tuple[MemSeries, list[int], list[tuple[I64, F64]]]] = []
    total = 0
    for labels, ts, vs in items:
        if ts.size == 0:
            continue
        total += int(ts.size)
        s = head.by_id[head.series_ref(labels)]
        lo_w = int(ts[0]) // head.chunk_range_ms * head.chunk_range_ms
        hi_w = (int(ts[-1]) // head.chunk_range_ms + 1) * head.chunk_range_ms - 1
        with head.lock:
            ids = s.chunks_in(lo_w, hi_w)
        jobs.append((s, ids, [(ts, vs)]))
    if jobs:
        rewrite_chunks(head, db, chunks, jobs)
    return total
