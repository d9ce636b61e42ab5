"""Flushing: the head's new samples to the ``wal`` table, due chunks cut.

One flush is one SQLite transaction holding every sample appended since the
previous flush (one ``wal`` row), any new series, and the chunks that are
due: a series' flushed samples once there are ``head_chunk_samples`` of them,
and everything older than the current ``chunk_range_ms`` window. WAL rows
that no head needs any more are deleted in the same transaction. This is the
checkpoint of the write-ahead log (``wal.py``): the log rotates when the
flush takes its snapshot, and its older segments are deleted once the
transaction has committed.

A flush can be abandoned before its transaction (``stop`` set, e.g. by
``Store.close``): nothing reaches SQLite, the samples stay in the head and
in the log, and the next open replays them (:class:`FlushAborted`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from threading import Event

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.collector.storage.chunks import encode_chunk, encode_chunks
from metricslib.collector.storage.columns import ColumnBlock
from metricslib.collector.storage.head import Head, transpose
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.sqlite import Database, encode_wal
from metricslib.collector.storage.wal import WriteAheadLog

__all__ = ["FlushAborted", "flush"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: a block a flush took rows from: the block, its epoch then, where its refs start in
#: the batch, and how many (so a failed flush can give the rows back)
Mark = tuple[ColumnBlock, int, int, int]


class FlushAborted(Exception):
    """``stop`` was set before the flush's transaction began; nothing was written."""


def flush(
    head: Head,
    db: Database,
    *,
    head_chunk_samples: int,
    cut_all: bool = False,
    wal: WriteAheadLog | None = None,
    stop: Event | None = None,
    max_cuts: int | None = None,
) -> None:
    """Write new samples durably; cut chunks that are due (all when ``cut_all``).

    The caller holds the writer lock (one flush, compaction or retention at a time).
    Raises :class:`FlushAborted` when ``stop`` is set before the transaction
    begins: at 200k series planning and encoding take a second or more, and a
    shutdown must not wait for them.

    ``max_cuts`` spreads a burst of due cuts over several flushes (the
    background thread's passes): series scraped together reach
    ``head_chunk_samples`` together, and all cross a window boundary together.
    At least a thirty-second of the due series are cut each time, so the heads stay
    bounded whatever the series count."""
    head.check_open()
    with head.lock:
        sids, counts, t_new, v_new, new_series, cuts, seq, pin, marks = _plan_flush(
            head, head_chunk_samples, cut_all, stop, max_cuts
        )
        # Every sample logged so far is in this flush: the log starts a new
        # segment, and the older ones go once this flush is on disk.
        segment = wal.rotate(sid for sid, _ in new_series) if wal is not None and sids else None
    if not sids and not cuts:
        return
    try:
        encoded = _encode_cuts(cuts, stop)
        if stop is not None and stop.is_set():
            raise FlushAborted("store closing")
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
            _unflush(head, sids, counts, seq, marks)
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

def _encode_cuts(
    cuts: list[tuple[MemSeries, int, list[tuple[I64, F64]]]], stop: Event | None
) -> list[tuple[MemSeries, int, list[tuple[bytes, int, int, int]]]]:
    """Every cut's pieces encoded. Pieces with the same timestamps (a column
    block's series, cut together) are encoded together (``encode_chunks``:
    the time stream once, the values as rows); the result is the same bytes."""
    blobs: list[list[bytes]] = [[b""] * len(pieces) for _, _, pieces in cuts]
    groups: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
    for c, (_, _, pieces) in enumerate(cuts):
        for p, (t, _) in enumerate(pieces):
            groups.setdefault((int(t.size), int(t[0]), int(t[-1])), []).append((c, p))
    done = 0
    for members in groups.values():
        if stop is not None and stop.is_set():
            raise FlushAborted("store closing")
        first_t = cuts[members[0][0]][2][members[0][1]][0]
        if len(members) > 1 and first_t.size > 2:
            same = (np.stack([cuts[c][2][p][0] for c, p in members]) == first_t).all(axis=1).tolist()
        else:
            same = [False] * len(members)
        together = [m for m, ok in zip(members, same, strict=True) if ok]
        for at in range(0, len(together), _ENCODE_ROWS):
            batch = together[at : at + _ENCODE_ROWS]
            rows = encode_chunks(first_t, np.stack([cuts[c][2][p][1] for c, p in batch]))
            for (c, p), blob in zip(batch, rows, strict=True):
                blobs[c][p] = blob
        for (c, p), ok in zip(members, same, strict=True):
            if not ok:
                t, v = cuts[c][2][p]
                blobs[c][p] = encode_chunk(t, v)
                done += 1
                if stop is not None and done % 256 == 0 and stop.is_set():
                    raise FlushAborted("store closing")
    return [
        (s, k, [(blob, int(t[0]), int(t[-1]), int(t.size)) for blob, (t, _) in zip(blobs[c], pieces, strict=True)])
        for c, (s, k, pieces) in enumerate(cuts)
    ]


#: chunks encoded as the rows of one array at most (bounds the temporary arrays)
_ENCODE_ROWS = 4096


def _unflush(head: Head, sids: list[int], counts: list[int], seq: int, marks: list[Mark]) -> None:
    """Undo a flush's marking of samples as flushed: its blocks' rows, or, for a
    block whose rows went into its series meanwhile, those series' counts."""
    skip: set[int] = set()
    for block, epoch, at, width in marks:
        block.persisted = False
        if block.epoch == epoch:
            block.flushed -= counts[at]
            if block.head_seq == seq:
                block.head_seq = 0
            skip.update(range(at, at + width))
    for i, (sid, count) in enumerate(zip(sids, counts, strict=True)):
        if i in skip:
            continue
        series = head.by_id.get(sid)
        if series is None:
            continue
        series.flushed -= count
        if series.head_seq == seq:
            series.head_seq = 0
        head.dirty.add(series)

def _flush_block(head: Head, block: ColumnBlock, seq: int, sids: list[int], counts: list[int],
                 t_new: array[int], v_new: array[float], new_series: list[tuple[int, Labels]]) -> None:
    """A column block's unflushed rows into the checkpoint batch (under the lock),
    when they are its series' only new samples, without visiting its series: every
    series has the rows' times and its column of values. The rows stay in the
    block (8 bytes a sample, one time per row) until the block is cut."""
    series = block.series
    n_rows, width, done = len(block.times), len(series), block.flushed
    new = n_rows - done
    sids.extend(block.sids)
    counts.extend([new] * width)
    t_new.frombytes(block.times[done:].tobytes() * width)
    v_new.frombytes(transpose(block.values[done * width:], new, width))
    block.flushed = n_rows
    if not block.head_seq:
        block.head_seq = seq
    if not block.persisted:
        new_series.extend((s.sid, s.labels) for s in series if not s.persisted)
        block.persisted = True  # only for this check: a failed flush resets it


def _plan_flush(head: Head, limit: int, cut_all: bool, stop: Event | None, max_cuts: int | None) -> tuple[
    list[int], list[int], array[int], array[float], list[tuple[int, Labels]],
    list[tuple[MemSeries, int, list[tuple[I64, F64]]]], int, int | None, list[Mark],
]:
    """Under the lock: take the unflushed samples, choose what to cut, and
    find the oldest WAL row a head still needs (None: no row is needed).
    Raises FlushAborted, with the head as it was, when ``stop`` is set."""
    sids: list[int] = []
    counts: list[int] = []
    t_new = array("q")
    v_new = array("d")
    new_series: list[tuple[int, Labels]] = []
    seq = head.wal_seq + 1
    marks: list[Mark] = []
    for block in list(head.blocks):
        if block.flushed == len(block.times):
            continue
        if head.dirty.isdisjoint(block.series):
            marks.append((block, block.epoch, len(sids), len(block.series)))
            _flush_block(head, block, seq, sids, counts, t_new, v_new, new_series)
        else:  # some series has other new samples too: they go out one series at a time
            head.materialize(block)
    add_t, add_v, add_count = t_new.append, v_new.append, counts.append
    for i, s in enumerate(head.dirty):
        if stop is not None and i % 4096 == 4095 and stop.is_set():
            _unflush(head, sids, counts, seq, marks)
            raise FlushAborted("store closing")
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
    due: list[tuple[MemSeries, int]] = []
    pin = _cut_blocks(head, limit, cut_all, window_start, max_cuts)
    for i, s in enumerate(head.by_id.values()):
        if stop is not None and i % 4096 == 4095 and stop.is_set():
            _unflush(head, sids, counts, seq, marks)
            raise FlushAborted("store closing")
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
        if k:
            due.append((s, k))
        elif pin is None or s.head_seq < pin:
            pin = s.head_seq
    budget = len(due) if max_cuts is None else max(max_cuts, len(due) // 32)
    for s, _ in due[budget:]:  # left for a later flush
        if pin is None or s.head_seq < pin:
            pin = s.head_seq
    for s, k in due[:budget]:
        if k < s.flushed and (pin is None or s.head_seq < pin):
            pin = s.head_seq
        ts = np.frombuffer(s.ts[:k], dtype=np.int64)
        vs = np.frombuffer(s.vs[:k], dtype=np.float64)
        # A chunk never spans two windows, so window compaction stays local.
        if ts[0] // rng == ts[-1] // rng:
            cuts.append((s, k, [(ts, vs)]))
        else:
            bounds = (np.flatnonzero(np.diff(ts // rng)) + 1).tolist()
            pieces = list(zip(np.split(ts, bounds), np.split(vs, bounds), strict=True))
            cuts.append((s, k, pieces))
    return sids, counts, t_new, v_new, new_series, cuts, seq, pin, marks


def _cut_blocks(head: Head, limit: int, cut_all: bool, window_start: int, max_cuts: int | None) -> int | None:
    """Materialize the blocks due for a cut (``limit`` flushed rows, or rows
    before the current window), so the per-series pass cuts their series; a
    burst is spread like the cuts themselves. Returns the oldest WAL row the
    blocks left with flushed rows still need (None: none)."""
    ripe = [b for b in head.blocks if b.flushed and (cut_all or b.flushed >= limit or b.times[0] < window_start)]
    width = sum(len(b.series) for b in ripe)
    allowed = width if max_cuts is None else max(max_cuts, width // 32)
    for block in ripe:
        if allowed <= 0:
            break
        allowed -= len(block.series)
        head.materialize(block)
    pin: int | None = None
    for block in head.blocks:
        if block.flushed and (pin is None or block.head_seq < pin):
            pin = block.head_seq
    return pin
