"""The store: head in memory, a write-ahead log, chunks and a checkpoint table in SQLite.

Life of a sample: an Appender queues it; ``commit`` writes the batch to the
write-ahead log (``wal.py``: a ``kill -9`` loses nothing committed) and puts
it in its series' head buffer (visible to queries at once); the flush thread
writes every new head sample into one ``wal`` row per flush, the checkpoint
that lets the log drop its older segments; once a series has ``head_chunk_samples`` flushed
samples, or its samples fall behind the current ``chunk_range_ms`` window,
they are cut into an encoded chunk and the WAL rows nobody needs are deleted
in the same transaction. Chunks of a finished window are merged into one
per series, which is what makes the file small (see docs/storage.md).
Closing only closes the log: the next open rebuilds the head from the
checkpoint and the log, as after a crash.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels, Matcher
from metricslib.collector.storage import admin, compaction, retention
from metricslib.collector.storage.appender import StoreAppender
from metricslib.collector.storage.cache import ChunkCache
from metricslib.collector.storage.cardinality import tsdb_status
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.flush import FlushAborted, flush
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import NO_TIME, MemSeries
from metricslib.collector.storage.querier import StoreQuerier
from metricslib.collector.storage.replay import (
    ReplayStatus,
    drop_from_groups,
    group_bounds,
    newer_than_before,
    replay_wal,
)
from metricslib.collector.storage.sqlite import Database
from metricslib.collector.storage.wal import WAL_DIR, WriteAheadLog
from metricslib.errors import StorageCorruptionError

__all__ = ["Store", "StoreStats"]

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
DAY_MS = 86_400_000
#: Work the background thread does per pass at most (explicit calls do it all):
#: series scraped together reach a cut, and finish a window, together; spread
#: over passes, that work no longer takes the interpreter from the scrapes.
CUTS_PER_PASS = 2048
MERGES_PER_PASS = 256


@dataclass(frozen=True)
class StoreStats:
    series: int
    samples: int
    head_samples: int
    chunks: int
    bytes_on_disk: int
    out_of_order_dropped: int
    samples_appended: int = 0
    series_created: int = 0
    series_removed: int = 0
    #: newest sample time in ms (None: empty store)
    max_time_ms: int | None = None


class Store:
    """Implements ``Storage``; open it with :func:`open_storage`.

    The composition root of the storage stage: it owns the :class:`Head`,
    the database, the write-ahead log and the chunk reader, hands them to the
    flush, compaction and retention passes, and runs those passes on a
    background thread. ``wal=False`` leaves the log out (a crash then loses
    up to one flush interval): for measuring what it costs, not for use.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        retention_ms: int = 15 * DAY_MS,
        flush_interval_s: float = 5.0,
        chunk_range_ms: int = 2 * 3_600_000,
        head_chunk_samples: int = 120,
        cache_samples: int = 4_000_000,
        retention_check_s: float = 300.0,
        background: bool = True,
        retention_bytes: int = 0,
        wal: bool = True,
    ) -> None:
        if retention_ms <= 0:
            raise ValueError(f"retention_ms must be positive, got {retention_ms}")
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s must be positive, got {flush_interval_s}")
        self.retention_ms = retention_ms
        #: --storage.tsdb.retention.size (0: no size limit)
        self.retention_bytes = retention_bytes
        self.flush_interval_s = flush_interval_s
        self.head_chunk_samples = head_chunk_samples
        self.retention_check_s = retention_check_s
        self.db = Database(data_dir)
        self.head = Head(chunk_range_ms, where=str(self.db.dir))
        self.cache = ChunkCache(cache_samples)
        self.chunks = ChunkReader(self.db, self.cache)
        # Serialises writers (flush thread, retention, import, close); the head's
        # own lock guards its state for the short sections inside each pass.
        self._writer_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: what the write-ahead log replay did at open (``/api/v1/status/walreplay``)
        self.wal_replay = ReplayStatus()
        self.wal: WriteAheadLog | None = None
        try:
            with _gc_paused():
                _load(self.head, self.db)
                created = replay_wal(self.head, self.db.dir / WAL_DIR, self.wal_replay)
                _drop_empty(self.head)
                _sort_keys(self.head)
            if wal:
                self.wal = WriteAheadLog(self.db.dir)
                for ref, labels in created:
                    if ref in self.head.by_id:
                        self.wal.log_series(ref, labels)
                self.head.journal = self.wal
            self.apply_retention()
        except BaseException:
            if self.wal is not None:
                self.wal.close()
            self.db.close()
            raise
        if background:
            self._thread = threading.Thread(target=self._run, name="metricslib-storage-flush", daemon=True)
            self._thread.start()

    @property
    def chunk_range_ms(self) -> int:
        return self.head.chunk_range_ms

    @property
    def out_of_order_dropped(self) -> int:
        return self.head.out_of_order_dropped

    # --- the public face ---------------------------------------------------------------

    def appender(self) -> StoreAppender:
        self.head.check_open()
        return StoreAppender(self.head, self.chunks)

    def querier(self) -> StoreQuerier:
        self.head.check_open()
        return StoreQuerier(self.head, self.chunks)

    def series_ref(self, labels: Labels) -> int:
        """The id ("ref") of the series with these labels, creating it if new."""
        return self.head.series_ref(labels)

    def series_with(self, pairs: Labels) -> list[tuple[Labels, int]]:
        """Every series holding all these label pairs, with its ref: a scrape
        loop seeds its series cache with its target's series after a restart
        (``scrape/seed.py``)."""
        matchers = [Matcher(name, "=", value) for name, value in pairs if value]
        if not matchers:
            return []
        head = self.head
        with head.lock:
            return [(head.by_id[sid].labels, sid) for sid in head.index.select(matchers)]

    def stats(self) -> StoreStats:
        head = self.head
        with head.lock:
            in_head = sum(len(s.ts) for s in head.by_id.values())
            in_head += sum(len(b.times) * len(b.series) for b in head.blocks)
            on_disk = sum(sum(s.c_n) for s in head.by_id.values())
            chunks = sum(len(s.c_ids) for s in head.by_id.values())
            series = len(head.by_id)
        return StoreStats(
            series=series,
            samples=in_head + on_disk,
            head_samples=in_head,
            chunks=chunks,
            bytes_on_disk=self.db.size_bytes(),
            out_of_order_dropped=head.out_of_order_dropped,
            samples_appended=head.samples_appended,
            series_created=head.series_created,
            series_removed=head.series_removed,
            max_time_ms=None if head.max_t == NO_TIME else head.max_t,
        )

    def tsdb_status(self, limit: int = 10) -> dict[str, object]:
        """``/api/v1/status/tsdb``'s data: head stats and the top-``limit`` cardinality lists."""
        return tsdb_status(self.head, limit)

    def close(self) -> None:
        """Stop the flush thread, close the write-ahead log and release the directory.

        The head is not written to chunks: everything committed is in the log
        or in the checkpoint already, and the next open rebuilds the head from
        them, as after a crash (Prometheus closes its WAL the same way). A
        background pass under way is abandoned before its transaction, so
        closing does not grow with the head (milliseconds, or one flush
        transaction that had already begun). Without a log
        (``wal=False``) the head's new samples are written to the checkpoint first.
        """
        if self.head.closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            # An import, a deletion or a retention pass on another thread ends first.
            with self._writer_lock:
                if self.wal is None:
                    self.flush()
        finally:
            with self.head.lock:
                self.head.closed = True
                if self.wal is not None:
                    self.wal.close()
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        last_retention = time.monotonic()
        # Fixed deadlines rather than "sleep an interval after each flush", so
        # the time a sample waits is bounded by one interval plus one flush.
        deadline = time.monotonic() + self.flush_interval_s
        while not self._stop.wait(max(0.0, deadline - time.monotonic())):
            deadline = max(deadline + self.flush_interval_s, time.monotonic())
            try:
                with self._writer_lock:
                    flush(self.head, self.db, head_chunk_samples=self.head_chunk_samples, wal=self.wal,
                          stop=self._stop, max_cuts=CUTS_PER_PASS)
                    compaction.run_compaction(self.head, self.db, self.chunks, final=False, stop=self._stop,
                                              max_jobs=MERGES_PER_PASS)
                if time.monotonic() - last_retention >= self.retention_check_s:
                    last_retention = time.monotonic()
                    self.apply_retention()
            except FlushAborted:  # close() is waiting: what was not written is in the log
                return
            except Exception:  # keep flushing: a full disk may clear up
                log.exception("storage flush failed; will retry in %.1fs", self.flush_interval_s)

    # --- the passes over head and disk ---------------------------------------------------

    def flush(self, *, cut_all: bool = False) -> None:
        """Write new samples durably; cut chunks that are due (all when ``cut_all``)."""
        with self._writer_lock:
            flush(self.head, self.db, head_chunk_samples=self.head_chunk_samples, cut_all=cut_all, wal=self.wal)

    def compact(self, *, final: bool = False) -> None:
        """Merge the chunks of each finished window (all windows when ``final``)."""
        with self._writer_lock:
            compaction.run_compaction(self.head, self.db, self.chunks, final=final)

    def rewrite_chunks(
        self, jobs: Sequence[tuple[MemSeries, list[int], list[tuple[I64, F64]]]]
    ) -> None:
        """Replace each job's chunks by their union with its extra sample runs."""
        with self._writer_lock:
            compaction.rewrite_chunks(self.head, self.db, self.chunks, jobs)

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Delete chunks that ended before ``now - retention``; returns how many."""
        with self._writer_lock:
            deleted = retention.apply_retention(self.head, self.db, self.retention_ms, now_ms)
            if self.retention_bytes > 0:
                deleted += admin.apply_size_retention(self.head, self.db, self.retention_bytes)
            return deleted

    # --- admin (/api/v1/admin/tsdb/*) -----------------------------------------------------

    def delete_series(self, matcher_sets: Sequence[Sequence[Matcher]], mint_ms: int, maxt_ms: int) -> int:
        """Remove the samples in [mint_ms, maxt_ms] of every matching series; returns
        how many series matched."""
        with self._writer_lock:
            self.flush(cut_all=True)
            return admin.delete_series(self.head, self.db, self.chunks, matcher_sets, mint_ms, maxt_ms)

    def clean_tombstones(self) -> None:
        """Deletions are applied at once; what is left is handing free pages back."""
        with self._writer_lock:
            self.db.shrink()

    def snapshot(self, *, skip_head: bool = False) -> str:
        """A consistent copy under ``<data dir>/snapshots/<name>``; returns the name."""
        with self._writer_lock:
            if not skip_head:
                self.flush()
            return admin.snapshot(self.db, skip_head=skip_head)

    def import_series(self, items: Iterable[tuple[Labels, I64, F64]]) -> int:
        """Backfill whole series (timestamps increasing) in one transaction.

        Samples merge with what the store holds; at a timestamp already
        present the stored value is kept. Returns the number of samples given."""
        with self._writer_lock:
            self.flush(cut_all=True)
            return compaction.import_series(self.head, self.db, self.chunks, items)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic collection while the head is rebuilt: it only allocates (series,
    label tuples, buffers), none of it garbage, and each collection would walk
    everything allocated so far (about a third of parsing 200k label sets)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(head: Head, db: Database) -> None:
    """Rebuild the head from the database: series, chunk metadata, then the WAL rows."""
    sids, labels, keys = db.load_series_bulk()
    series = list(map(MemSeries, sids, labels))
    for s, key in zip(series, keys, strict=True):
        s.persisted = True
        s.sorts_as = key  # the stored text is the sort key (None: built below)
    # Head.register for all of them at once: the postings from one sort
    head.by_labels.update(zip(labels, series, strict=True))
    head.by_id.update(zip(sids, series, strict=True))
    head.index.add_many(sids, labels)
    if sids:
        head.next_id = max(head.next_id, max(sids) + 1)
    for cid, sid, mint, maxt, n in db.load_chunk_meta():
        owner = head.by_id.get(sid)
        if owner is None:
            raise StorageCorruptionError(f"chunk {cid} belongs to unknown series {sid}")
        owner.add_chunk(cid, mint, maxt, n)
        owner.last_t = max(owner.last_t, maxt)
        head.max_t = max(head.max_t, maxt)
    for s in head.by_id.values():
        head.queue_compaction(s)
    _load_wal_rows(head, db)


def _load_wal_rows(head: Head, db: Database) -> None:
    """The checkpoint's ``wal`` rows into the head buffers, as flushed samples.

    Rows can still hold samples that were already cut into chunks (rows are
    deleted lazily), so a sample not newer than its series' newest is
    skipped. The rows' runs (one per series and row) are regrouped by series
    with one stable sort of the runs, not of the samples, and the samples
    gathered run by run, so the Python work is per series, not per series
    and row (a head of ten minutes is a hundred rows)."""
    parts = list(db.load_wal())
    head.wal_seq = max(head.wal_seq, db.max_wal_seq())
    if not parts:
        return
    run_sid = np.concatenate([b[0] for _, b in parts])
    run_len = np.concatenate([b[1] for _, b in parts])
    run_seq = np.concatenate([np.full(b[0].size, seq, dtype=np.int64) for seq, b in parts])
    run_at = np.cumsum(run_len) - run_len  # where each run starts in the concatenated samples
    order = np.argsort(run_sid, kind="stable")  # rows come in seq order: each series keeps log order
    run_sid, run_len, run_seq, run_at = run_sid[order], run_len[order], run_seq[order], run_at[order]
    n = int(run_len.sum())
    if n == 0:
        return
    # Sample k of the regrouped arrays is sample (k - its run's new start + its run's old start).
    new_at = np.cumsum(run_len) - run_len
    gather = np.repeat(run_at - new_at, run_len) + np.arange(n, dtype=np.int64)
    t_s = np.concatenate([b[2] for _, b in parts])[gather]
    v_s = np.concatenate([b[3] for _, b in parts])[gather]
    nonempty = run_len > 0
    g_starts, _ = group_bounds(run_sid[nonempty])
    sids = run_sid[nonempty][g_starts]
    first_seqs = run_seq[nonempty][g_starts].tolist()
    starts = new_at[nonempty][g_starts]
    ends = np.append(starts[1:], n)
    owners: list[MemSeries] = []
    by_id = head.by_id
    for sid, seq in zip(sids.tolist(), first_seqs, strict=True):
        found = by_id.get(sid)
        if found is None:
            raise StorageCorruptionError(f"WAL record {seq} names unknown series {sid}")
        owners.append(found)
    # A sample is kept when newer than everything before it: the series'
    # newest chunk sample and the samples earlier in the log.
    keep = newer_than_before(t_s, starts, ends, [s.last_t for s in owners])
    if not keep.all():
        seq_s = np.repeat(run_seq, run_len)[keep]  # head_seq: the row of the first sample kept
        t_s, v_s = t_s[keep], v_s[keep]
        owners, starts, ends = drop_from_groups(keep, starts, owners)
        first_seqs = seq_s[starts].tolist()
    if not owners:
        return
    t_bytes = np.ascontiguousarray(t_s).data.cast("B")
    v_bytes = np.ascontiguousarray(v_s).data.cast("B")
    last_ts = t_s[ends - 1].tolist()
    last_vs = v_s[ends - 1].tolist()
    for s, a, b, last_t, last_v, first_seq in zip(
        owners, starts.tolist(), ends.tolist(), last_ts, last_vs, first_seqs, strict=True
    ):
        s.ts.frombytes(t_bytes[8 * a : 8 * b])
        s.vs.frombytes(v_bytes[8 * a : 8 * b])
        s.flushed = len(s.ts)
        if s.head_seq == 0:
            s.head_seq = first_seq
        s.last_t = last_t
        s.last_v = last_v
    head.max_t = max(head.max_t, max(last_ts))


def _sort_keys(head: Head) -> None:
    """Build every series' sort key now rather than in the first query after a
    restart, which would otherwise pay for all of them (0.4 s at 200k series);
    Prometheus orders its postings after replay for the same reason."""
    for s in head.by_id.values():
        s.sort_key()


def _drop_empty(head: Head) -> None:
    for s in [s for s in head.by_id.values() if s.is_empty()]:
        head.unregister(s)
    head.series_removed = 0  # counters start with the process, as Prometheus's
