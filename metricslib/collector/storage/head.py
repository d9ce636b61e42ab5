"""The head: every series the store knows, found by labels or id, and the newest samples.

One lock guards it all (the series maps, the postings index, each series'
head buffers and chunk metadata); appenders, queries, flushes and retention
take it for short critical sections only. The head does no I/O of its own:
flushing, compaction and retention are handed the head and the database they
work on, and new series and commits go to its ``journal`` (the write-ahead
log, ``wal.py``) under the lock, before queries can see them.
"""

from __future__ import annotations

import threading
from typing import Protocol

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.storage.columns import ColumnRefs
from metricslib.collector.storage.index import PostingsIndex
from metricslib.collector.storage.memseries import NO_TIME, MemSeries, same_value
from metricslib.collector.storage.selection import SelectionCache
from metricslib.errors import StorageError

__all__ = ["Column", "Head", "Journal"]

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

        The series are looked up once per column (cached in the ``ColumnRefs``),
        so each sample costs two appends and two attribute stores. (Plain loops:
        ``map`` over ``setattr`` or ``array.append`` measured slower on 3.11.)"""
        if not isinstance(refs, ColumnRefs) or not refs:
            return False
        if refs.generation != self.generation:
            found = [self.by_id.get(ref) for ref in refs]
            if None in found or len(set(refs)) != len(refs):
                return False
            refs.series = [s for s in found if s is not None]
            refs.generation = self.generation
        series = refs.series
        for s in series:
            if s.last_t >= t:
                return False  # some sample is old or a duplicate: judge each one
        for s, v in zip(series, vs, strict=True):
            s.ts.append(t)
            s.vs.append(v)
            s.last_t = t
            s.last_v = v
        self.dirty.update(series)
        if t > self.max_t:
            self.max_t = t
        return True

    def queue_compaction(self, s: MemSeries) -> None:
        """Remember windows where this series has more than one chunk (under the lock)."""
        seen: set[int] = set()
        for mint in s.c_mint:
            w = mint // self.chunk_range_ms
            if w in seen:
                self.compaction_due.setdefault(w, set()).add(s.sid)
            seen.add(w)
