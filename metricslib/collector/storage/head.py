"""The head: every series the store knows, found by labels or id, and the newest samples.

One lock guards it all (the series maps, the postings index, each series'
head buffers and chunk metadata); appenders, queries, flushes and retention
take it for short critical sections only. The head does no I/O of its own:
flushing, compaction and retention are handed the head and the database they
work on, and new series and commits go to its ``journal`` (the write-ahead
log, ``wal.py``) under the lock, before queries can see them.

The head is laid out by target: a column commit appends one row to its
``ColumnRefs``' column block (``columns.py``) instead of a sample to each
series; :meth:`Head.materialize` moves a block's rows into its series in
bulk, when they are cut or another path needs one of them.
"""

from __future__ import annotations

import threading
from array import array
from typing import Protocol

import numpy as np

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.storage.columns import ColumnBlock, ColumnRefs
from metricslib.collector.storage.index import PostingsIndex
from metricslib.collector.storage.memseries import NO_TIME, MemSeries, same_value
from metricslib.collector.storage.selection import SelectionCache
from metricslib.errors import StorageError

__all__ = ["Column", "Head", "Journal", "transpose"]

#: ``append_column``'s batch: refs, the one timestamp, values (as many as refs).
Column = tuple[list[int], int, list[float]]


class Journal(Protocol):
    """Where the head logs what it is about to make visible (called under its lock)."""

    def log_series(self, ref: int, labels: Labels) -> None: ...

    def log_samples(self, refs: list[int], ts: list[int], vs: list[float]) -> None: ...

    def log_commit(self, column: Column, refs: list[int], ts: list[int], vs: list[float]) -> None:
        """One commit made of a column (one time for all its samples) and other samples."""
        ...

    def forget(self, ref: int) -> None: ...


class Head:
    def __init__(self, chunk_range_ms: int, *, where: str) -> None:
        self.chunk_range_ms = chunk_range_ms
        self.lock = threading.Lock()
        self.by_labels: dict[Labels, MemSeries] = {}
        self.by_id: dict[int, MemSeries] = {}
        self.index = PostingsIndex()
        #: the series each recently queried matcher set selects (kept by the querier)
        self.selections = SelectionCache()
        #: series with samples appended since the last flush
        self.dirty: set[MemSeries] = set()
        #: column blocks with rows not yet materialized into their series (``columns.py``)
        self.blocks: set[ColumnBlock] = set()
        #: window -> ids of the series with more than one chunk in it (a set per
        #: window, not (id, window) tuples: ~40 bytes per series instead of ~160)
        self.compaction_due: dict[int, set[int]] = {}
        self.next_id = 1
        #: sequence number of the newest ``wal`` row written
        self.wal_seq = 0
        self.max_t = NO_TIME
        self.out_of_order_dropped = 0
        #: counters for the collector's /metrics (prometheus_tsdb_head_*)
        self.samples_appended = 0
        self.series_created = 0
        self.series_removed = 0
        self.closed = False
        #: bumped whenever a series leaves the head, so cached series lookups
        #: (``ColumnRefs``) know they must be resolved again
        self.generation = 0
        #: the write-ahead log, once the store has replayed it (None: not logged)
        self.journal: Journal | None = None
        self._where = where

    def check_open(self) -> None:
        if self.closed:
            raise StorageError(f"the store at {self._where} is closed")

    def register(self, s: MemSeries) -> None:
        self.by_labels[s.labels] = s
        self.by_id[s.sid] = s
        self.index.add(s.sid, s.labels)

    def unregister(self, s: MemSeries) -> None:
        self.release(s)
        self.series_removed += 1
        self.generation += 1
        self.by_labels.pop(s.labels, None)
        self.by_id.pop(s.sid, None)
        self.index.remove(s.sid, s.labels)
        self.dirty.discard(s)
        if self.journal is not None:
            self.journal.forget(s.sid)

    def forget_deleted(self, gone: list[MemSeries]) -> None:
        """Series whose rows were just deleted from the database (the caller holds the lock).

        An appender may have added samples meanwhile: such a series stays, the next
        flush writes its row again, and the log names it till then."""
        for s in gone:
            if s.is_empty():
                self.unregister(s)
            else:
                self.release(s)  # its block may count it as persisted
                s.persisted = False
                if self.journal is not None:
                    self.journal.log_series(s.sid, s.labels)

    def series_ref(self, labels: Labels) -> int:
        """The id ("ref") of the series with these labels, creating it if new."""
        s = self.by_labels.get(labels)
        if s is not None:
            return s.sid
        canonical = make_labels(labels)
        if not canonical:
            raise ValueError("a series needs at least one non-empty label")
        if canonical == labels:
            canonical = labels  # share the caller's tuple (a scraper keeps it anyway)
        with self.lock:
            s = self.by_labels.get(canonical)
            if s is None:
                s = MemSeries(self.next_id, canonical)
                self.next_id += 1
                self.series_created += 1
                self.register(s)
                if self.journal is not None:
                    self.journal.log_series(s.sid, canonical)
            return s.sid

    def commit(self, refs: list[int], ts: list[int], vs: list[float], column: Column | None = None) -> list[int]:
        """Apply an appender's batch (``column`` first, then the other samples);
        samples that lost a race with another appender of the same series (or
        whose series is gone) are counted in ``out_of_order_dropped``. Returns
        the refs of the samples it refused."""
        self.check_open()
        refused: list[int] = []
        with self.lock:
            if self.journal is not None:
                # Logged as given: replay applies the same rules in the same order.
                if column is not None:
                    self.journal.log_commit(column, refs, ts, vs)
                else:
                    self.journal.log_samples(refs, ts, vs)
            n = len(refs)
            if column is not None:
                crefs, t, cvs = column
                n += len(crefs)
                if not self._append_column(crefs, t, cvs):
                    self._append_each(crefs, [t] * len(crefs), cvs, refused)
            self._append_each(refs, ts, vs, refused)
            self.out_of_order_dropped += len(refused)
            self.samples_appended += n - len(refused)
        return refused

    def _append_each(self, refs: list[int], ts: list[int], vs: list[float], refused: list[int]) -> None:
        """Sample by sample, each checked against its series' newest (under the lock)."""
        by_id = self.by_id
        dirty = self.dirty
        max_t = self.max_t
        for ref, t, v in zip(refs, ts, vs, strict=False):
            s = by_id.get(ref)
            if s is None:
                refused.append(ref)
                continue
            if s.block is not None:
                self.release(s)
            if t <= s.last_t:
                if not (t == s.last_t and s.last_v is not None and same_value(s.last_v, v)):
                    refused.append(ref)
                continue
            s.ts.append(t)
            s.vs.append(v)
            s.last_t = t
            s.last_v = v
            dirty.add(s)
            if t > max_t:
                max_t = t
        self.max_t = max_t

    def _append_column(self, refs: list[int], t: int, vs: list[float]) -> bool:
        """All of a column at once, when every series exists and is older than
        ``t`` (the usual scrape); False, with nothing changed, otherwise.

        The series are looked up once per column and kept, with the column's
        pending rows, in a :class:`ColumnBlock` (cached in the ``ColumnRefs``).
        While every series belongs to the block, a commit is one comparison
        with the block's newest time and two appends to it: no series is
        touched until the block is materialized."""
        if not isinstance(refs, ColumnRefs) or not refs:
            return False
        block = refs.block
        if block is None or refs.generation != self.generation:
            if block is not None:
                self._disband(block)
                refs.block = None
            found = [self.by_id.get(ref) for ref in refs]
            if None in found or len(set(refs)) != len(refs):
                return False
            refs.series = [s for s in found if s is not None]
            refs.generation = self.generation
            block = refs.block = ColumnBlock(refs.series)
        if not block.intact:
            if not self._claim(block, t):
                return False
        elif t <= block.newest:
            return False  # some sample is old or a duplicate: judge each one
        if not block.times:
            self.blocks.add(block)
        block.times.append(t)
        block.values.extend(vs)
        block.newest = t
        if t > self.max_t:
            self.max_t = t
        return True

    def _claim(self, block: ColumnBlock, t: int) -> bool:
        """Make every series of ``block`` belong to it, if each is older than ``t``.

        The one per-series pass of the column path: after a restart, a change
        of the column, or another writer's sample in one of its series."""
        series = block.series
        for s in series:
            if s.block is not block:
                self.release(s)
        for s in series:
            if s.last_t >= t:
                return False
        for i, s in enumerate(series):
            s.block = block
            s.col = i
        block.intact = True
        block.persisted = False  # the next flush checks
        return True

    def release(self, s: MemSeries) -> None:
        """Take ``s`` out of its column block (the caller holds the lock): the
        block's rows go to every series first, and the block stops being intact
        (its next commit checks its series again). Every path that appends to a
        series, or changes its newest sample, other than its block, calls this."""
        block = s.block
        if block is None:
            return
        if block.times:
            self.materialize(block)
        block.intact = False
        s.block = None

    def _disband(self, block: ColumnBlock) -> None:
        """A block its ``ColumnRefs`` replaces: its rows go to the series, which leave it."""
        if block.times:
            self.materialize(block)
        block.intact = False
        for s in block.series:
            if s.block is block:
                s.block = None

    def materialize(self, block: ColumnBlock) -> None:
        """Move the block's rows into its series' own buffers (under the lock), in
        bulk: the rows transposed once, then one append of times and one of values
        per series. Rows a flush already wrote count as flushed in every series
        (whose own samples were all flushed then, or the flush would have
        materialized the block instead); the others make the series dirty."""
        n_rows = len(block.times)
        if not n_rows:
            return
        series = block.series
        width = 8 * n_rows
        t_bytes = block.times.tobytes()
        columns = memoryview(transpose(block.values, n_rows, len(series)))
        newest = block.newest
        last_row = block.values[-len(series):].tolist()
        flushed, head_seq = block.flushed, block.head_seq
        for s, at, v in zip(series, range(0, width * len(series), width), last_row, strict=True):
            s.ts.frombytes(t_bytes)
            s.vs.frombytes(columns[at : at + width])
            s.last_t = newest
            s.last_v = v
            if flushed:
                s.flushed += flushed
                if not s.head_seq:
                    s.head_seq = head_seq
        if flushed < n_rows:
            self.dirty.update(series)
        self.forget_rows(block)

    def forget_rows(self, block: ColumnBlock) -> None:
        """The block's rows are in its series now (new arrays: a select may hold the old)."""
        block.times = array("q")
        block.values = array("d")
        block.flushed = 0
        block.head_seq = 0
        block.epoch += 1
        self.blocks.discard(block)

    def settle(self) -> None:
        """Materialize every block (under the lock): for the passes that read the
        series' buffers directly (retention, label queries, stats)."""
        for block in list(self.blocks):
            self.materialize(block)

    def newest(self, s: MemSeries) -> tuple[int, float | None]:
        """The series' newest sample time and value (None: only on disk), its block's
        rows included. Read without the lock by appenders; commit checks again under it."""
        block = s.block
        if block is not None:
            values = block.values  # once: a flush may swap in new arrays meanwhile
            at = len(values) - len(block.series) + s.col
            if block.newest > s.last_t and 0 <= at < len(values):
                return block.newest, values[at]
        return s.last_t, s.last_v

    def queue_compaction(self, s: MemSeries) -> None:
        """Remember windows where this series has more than one chunk (under the lock)."""
        seen: set[int] = set()
        for mint in s.c_mint:
            w = mint // self.chunk_range_ms
            if w in seen:
                self.compaction_due.setdefault(w, set()).add(s.sid)
            seen.add(w)


def transpose(values: array[float], n_rows: int, n_cols: int) -> bytes:
    """Row-major rows of ``n_cols`` values as column-major bytes (each series' run)."""
    if n_rows == 1:
        return values.tobytes()
    rows = np.frombuffer(values, dtype=np.float64).reshape(n_rows, n_cols)
    columns: bytes = rows.T.tobytes()
    return columns
