"""Flushing: the head's new samples to the ``wal`` table, due chunks cut.

One flush is one SQLite transaction holding every sample appended since the
previous flush (one ``wal`` row), any new series, and the chunks that are
due: a series' flushed samples once there are ``head_chunk_samples`` of them,
and everything older than the current ``chunk_range_ms`` window. WAL rows
that no head needs any more are deleted in the same transaction. This is the
checkpoint of the write-ahead log (``wal.py``): the log rotates when the
flush takes its snapshot, and its older segments are deleted once the
transaction has committed.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.collector.storage.chunks import encode_chunk
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.sqlite import Database, encode_wal
from metricslib.collector.storage.wal import WriteAheadLog

__all__ = ["flush"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def flush(
    head: Head, db: Database, *, head_chunk_samples: int, cut_all: bool = False, wal: WriteAheadLog | None = None
) -> None:
    """Write new samples durably; cut chunks that are due (all when ``cut_all``).

    The caller holds the writer lock (one flush, compaction or retention at a time)."""
    head.check_open()
    with head.lock:
        sids, counts, t_new, v_new, new_series, cuts, seq, pin = _plan_flush(head, head_chunk_samples, cut_all)
        # Every sample logged so far is in this flush: the log starts a new
        # segment, and the older ones go once this flush is on disk.
        segment = wal.rotate(sid for sid, _ in new_series) if wal is not None and sids else None
    if not sids and not cuts:
        return
    try:
        encoded = [
            (s, k, [(encode_chunk(t, v), int(t[0]), int(t[-1]), int(t.size)) for t, v in pieces])
            for s, k, pieces in cuts
        ]
        # WAL rows older than every remaining head's oldest flushed sample
        # are no longer needed to rebuild the head after a crash.
        keep_from = pin if pin is not None else head.wal_seq + 1
        with db.transaction() as conn:
            Database.insert_series(conn, new_series)
            if sids:
                batch = (
                    np.array(sids, dtype=np.int64),
                    np.array(counts, dtype=np.int64),
                    np.frombuffer(t_new, dtype=np.int64),
                    np.frombuffer(v_new, dtype=np.float64),
                )
                conn.execute("INSERT INTO wal(seq, data) VALUES (?, ?)", (seq, encode_wal(batch)))
            added = [
                (s, k, [(Database.insert_chunk(conn, s.sid, mn, mx, n, blob), mn, mx, n)
                        for blob, mn, mx, n in pieces])
                for s, k, pieces in encoded
            ]
            conn.execute("DELETE FROM wal WHERE seq < ?", (keep_from,))
    except BaseException:
        # Nothing reached the disk: mark the samples unflushed again so
        # the next flush retries them (they are still in the head).
        with head.lock:
            _unflush(head, sids, counts, seq)
        raise
    with head.lock:
        if wal is not None and segment is not None:
            wal.checkpoint(segment, [sid for sid, _ in new_series])
        for s, k, metas in added:
            del s.ts[:k]
            del s.vs[:k]
            s.flushed -= k
            if s.flushed == 0:
                s.head_seq = 0
            for cid, mn, mx, n in metas:
                s.add_chunk(cid, mn, mx, n)
            head.queue_compaction(s)
        for sid, _ in new_series:
            series = head.by_id.get(sid)
            if series is not None:
                series.persisted = True

def _unflush(head: Head, sids: list[int], counts: list[int], seq: int) -> None:
    for sid, count in zip(sids, counts, strict=True):
        series = head.by_id.get(sid)
        if series is None:
            continue
        series.flushed -= count
        if series.head_seq == seq:
            series.head_seq = 0
        head.dirty.add(series)

def _plan_flush(head: Head, limit: int, cut_all: bool) -> tuple[
    list[int], list[int], array[int], array[float], list[tuple[int, Labels]],
    list[tuple[MemSeries, int, list[tuple[I64, F64]]]], int, int | None,
]:
    """Under the lock: take the unflushed samples, choose what to cut, and
    find the oldest WAL row a head still needs (None: no row is needed)."""
    sids: list[int] = []
    counts: list[int] = []
    t_new = array("q")
    v_new = array("d")
    new_series: list[tuple[int, Labels]] = []
    seq = head.wal_seq + 1
    add_t, add_v, add_count = t_new.append, v_new.append, counts.append
    for s in head.dirty:
        s_ts = s.ts
        k0, k1 = s.flushed, len(s_ts)
        if k1 - k0 == 1:  # the usual case (a flush per scrape interval): no slices
            add_t(s_ts[k0])
            add_v(s.vs[k0])
            add_count(1)
        elif k1 > k0:
            # array slices and extend stay in C; numpy sees one buffer at the end.
            t_new.extend(s_ts[k0:k1])
            v_new.extend(s.vs[k0:k1])
            add_count(k1 - k0)
        else:
            continue
        sids.append(s.sid)
        s.flushed = k1
        if s.head_seq == 0:
            s.head_seq = seq
        if not s.persisted:
            new_series.append((s.sid, s.labels))
    head.dirty.clear()
    if sids:
        head.wal_seq = seq
    rng = head.chunk_range_ms
    window_start = (head.max_t // rng) * rng
    cuts: list[tuple[MemSeries, int, list[tuple[I64, F64]]]] = []
    pin: int | None = None
    for s in head.by_id.values():
        f = s.flushed
        if not f:
            continue
        if cut_all or f >= limit:
            k = f
        elif s.ts[0] >= window_start:
            k = 0
        else:
            # Idle or lagging series: cut what lies before the current window.
            k = min(bisect_left(s.ts, window_start), f)
        if k < f and (pin is None or s.head_seq < pin):
            pin = s.head_seq
        if k == 0:
            continue
        ts = np.frombuffer(s.ts[:k], dtype=np.int64)
        vs = np.frombuffer(s.vs[:k], dtype=np.float64)
        # A chunk never spans two windows, so window compaction stays local.
        if ts[0] // rng == ts[-1] // rng:
            cuts.append((s, k, [(ts, vs)]))
        else:
            bounds = (np.flatnonzero(np.diff(ts // rng)) + 1).tolist()
            pieces = list(zip(np.split(ts, bounds), np.split(vs, bounds), strict=True))
            cuts.append((s, k, pieces))
    return sids, counts, t_new, v_new, new_series, cuts, seq, pin
