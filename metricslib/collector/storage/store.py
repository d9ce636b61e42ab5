"""The store: head in memory, chunks and a write-ahead table in SQLite.

Life of a sample: an Appender queues it; ``commit`` puts it in its series'
head buffer (visible to queries at once); the flush thread writes every new
head sample into one ``wal`` row per flush (durable: a ``kill -9`` loses at
most one flush interval); once a series has ``head_chunk_samples`` flushed
samples, or its samples fall behind the current ``chunk_range_ms`` window,
they are cut into an encoded chunk and the WAL rows nobody needs are deleted
in the same transaction. Chunks of a finished window are merged into one
per series, which is what makes the file small (see docs/storage.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.storage.cache import ChunkCache
from metricslib.collector.storage.chunks import decode_chunk
from metricslib.collector.storage.head import NO_TIME, MemSeries, same_value
from metricslib.collector.storage.index import PostingsIndex
from metricslib.collector.storage.sqlite import Database
from metricslib.errors import StorageCorruptionError, StorageError

__all__ = ["Store", "StoreStats"]

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
DAY_MS = 86_400_000


@dataclass(frozen=True)
class StoreStats:
    series: int
    samples: int
    head_samples: int
    chunks: int
    bytes_on_disk: int
    out_of_order_dropped: int


class Store:
    """Implements ``Storage``; open it with :func:`open_storage`."""

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
    ) -> None:
        if retention_ms <= 0:
            raise ValueError(f"retention_ms must be positive, got {retention_ms}")
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s must be positive, got {flush_interval_s}")
        self.retention_ms = retention_ms
        self.flush_interval_s = flush_interval_s
        self.chunk_range_ms = chunk_range_ms
        self.head_chunk_samples = head_chunk_samples
        self.retention_check_s = retention_check_s
        self.db = Database(data_dir)
        # _lock guards the head, the index and chunk metadata; _flush_lock
        # serialises writers (flush thread, retention, import, close).
        self._lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._by_labels: dict[Labels, MemSeries] = {}
        self._by_id: dict[int, MemSeries] = {}
        self._index = PostingsIndex()
        self._dirty: set[MemSeries] = set()
        self._next_id = 1
        self._wal_seq = 0
        self._max_t = NO_TIME
        self._compact: set[tuple[int, int]] = set()
        self.cache = ChunkCache(cache_samples)
        self.out_of_order_dropped = 0
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self._load()
            self.apply_retention()
        except BaseException:
            self.db.close()
            raise
        if background:
            self._thread = threading.Thread(target=self._run, name="metricslib-storage-flush", daemon=True)
            self._thread.start()

    # --- opening ---------------------------------------------------------------------

    def _load(self) -> None:
        for sid, labels in self.db.load_series():
            s = MemSeries(sid, labels)
            s.persisted = True
            self._register(s)
            self._next_id = max(self._next_id, sid + 1)
        for cid, sid, mint, maxt, n in self.db.load_chunk_meta():
            owner = self._by_id.get(sid)
            if owner is None:
                raise StorageCorruptionError(f"chunk {cid} belongs to unknown series {sid}")
            owner.add_chunk(cid, mint, maxt, n)
            owner.last_t = max(owner.last_t, maxt)
            self._max_t = max(self._max_t, maxt)
        for s in self._by_id.values():
            self._queue_compaction(s)
        # Replay: WAL rows can still hold samples that were already cut into
        # chunks (rows are deleted lazily), so anything not newer is skipped.
        for seq, (sids, counts, ts, vs) in self.db.load_wal():
            self._wal_seq = max(self._wal_seq, seq)
            pos = 0
            for sid, cnt in zip(sids.tolist(), counts.tolist(), strict=False):
                found = self._by_id.get(sid)
                if found is None:
                    raise StorageCorruptionError(f"WAL record {seq} names unknown series {sid}")
                s = found
                t_part = ts[pos : pos + cnt]
                v_part = vs[pos : pos + cnt]
                pos += cnt
                newer = t_part > s.last_t
                if not newer.any():
                    continue
                t_new = t_part[newer]
                s.ts.frombytes(t_new.tobytes())
                s.vs.frombytes(v_part[newer].tobytes())
                s.flushed = len(s.ts)
                if s.head_seq == 0:
                    s.head_seq = seq
                s.last_t = int(t_new[-1])
                s.last_v = float(v_part[newer][-1])
                self._max_t = max(self._max_t, s.last_t)
        self._wal_seq = max(self._wal_seq, self.db.max_wal_seq())
        for s in [s for s in self._by_id.values() if s.is_empty()]:
            self._unregister(s)

    def _register(self, s: MemSeries) -> None:
        self._by_labels[s.labels] = s
        self._by_id[s.sid] = s
        self._index.add(s.sid, s.labels)

    def _unregister(self, s: MemSeries) -> None:
        self._by_labels.pop(s.labels, None)
        self._by_id.pop(s.sid, None)
        self._index.remove(s.sid, s.labels)
        self._dirty.discard(s)

    # --- the public face ---------------------------------------------------------------

    def appender(self) -> StoreAppender:
        self._check_open()
        return StoreAppender(self)

    def querier(self) -> StoreQuerier:
        self._check_open()
        return StoreQuerier(self)

    def stats(self) -> StoreStats:
        with self._lock:
            head = sum(len(s.ts) for s in self._by_id.values())
            on_disk = sum(sum(s.c_n) for s in self._by_id.values())
            chunks = sum(len(s.c_ids) for s in self._by_id.values())
            series = len(self._by_id)
        return StoreStats(
            series=series,
            samples=head + on_disk,
            head_samples=head,
            chunks=chunks,
            bytes_on_disk=self.db.size_bytes(),
            out_of_order_dropped=self.out_of_order_dropped,
        )

    def close(self) -> None:
        """Flush everything into chunks, shrink the file and release the directory."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            with self._flush_lock:
                self.flush(cut_all=True)
                self._run_compaction(final=True)
                self.db.shrink()
        finally:
            self._closed = True
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"the store at {self.db.dir} is closed")

    def _run(self) -> None:
        last_retention = time.monotonic()
        # Fixed deadlines rather than "sleep an interval after each flush", so
        # the time a sample waits is bounded by one interval plus one flush.
        deadline = time.monotonic() + self.flush_interval_s
        while not self._stop.wait(max(0.0, deadline - time.monotonic())):
            deadline = max(deadline + self.flush_interval_s, time.monotonic())
            try:
                self.flush()
                self._run_compaction(final=False)
                if time.monotonic() - last_retention >= self.retention_check_s:
                    last_retention = time.monotonic()
                    self.apply_retention()
            except Exception:  # keep flushing: a full disk may clear up
                log.exception("storage flush failed; will retry in %.1fs", self.flush_interval_s)

    # --- series lookup (used by appenders) ---------------------------------------------

    def series_ref(self, labels: Labels) -> int:
        """The id ("ref") of the series with these labels, creating it if new."""
        s = self._by_labels.get(labels)
        if s is not None:
            return s.sid
        canonical = make_labels(labels)
        if not canonical:
            raise ValueError("a series needs at least one non-empty label")
        if canonical == labels:
            canonical = labels  # share the caller's tuple (a scraper keeps it anyway)
        with self._lock:
            s = self._by_labels.get(canonical)
            if s is None:
                s = MemSeries(self._next_id, canonical)
                self._next_id += 1
                self._register(s)
            return s.sid

    def _commit(self, refs: list[int], ts: list[int], vs: list[float]) -> None:
        """Apply an appender's batch; samples that lost a race with another
        appender of the same series are counted in ``out_of_order_dropped``."""
        self._check_open()
        by_id = self._by_id
        dirty = self._dirty
        dropped = 0
        with self._lock:
            max_t = self._max_t
            for ref, t, v in zip(refs, ts, vs, strict=False):
                s = by_id.get(ref)
                if s is None:
                    dropped += 1
                    continue
                if t <= s.last_t:
                    if not (t == s.last_t and s.last_v is not None and same_value(s.last_v, v)):
                        dropped += 1
                    continue
                s.ts.append(t)
                s.vs.append(v)
                s.last_t = t
                s.last_v = v
                dirty.add(s)
                if t > max_t:
                    max_t = t
            self._max_t = max_t
            self.out_of_order_dropped += dropped

    def _last_value(self, s: MemSeries) -> float | None:
        """Value at last_t when it only lives in the newest chunk on disk."""
        if s.last_v is not None or not s.c_ids:
            return s.last_v
        ts, vs = self._chunk_arrays([s.c_ids[-1]])[s.c_ids[-1]]
        s.last_v = float(vs[-1]) if ts.size and int(ts[-1]) == s.last_t else None
        return s.last_v

    def _chunk_arrays(self, ids: Sequence[int]) -> dict[int, tuple[I64, F64]]:
        out, missing = self.cache.get_many(ids)
        if missing:
            blobs = self.db.fetch_chunks(missing)
            for cid in missing:
                blob = blobs.get(cid)
                if blob is None:
                    continue
                arrs = decode_chunk(blob)
                self.cache.put(cid, arrs)
                out[cid] = arrs
        return out

    # --- flushing and cutting ----------------------------------------------------------

    def flush(self, *, cut_all: bool = False) -> None:
        """Write new samples durably; cut chunks that are due (all when ``cut_all``)."""
        from metricslib.collector.storage.flush import flush

        flush(self, cut_all=cut_all)

    def _queue_compaction(self, s: MemSeries) -> None:
        """Remember windows where this series has more than one chunk."""
        seen: set[int] = set()
        for mint in s.c_mint:
            w = mint // self.chunk_range_ms
            if w in seen:
                self._compact.add((s.sid, w))
            seen.add(w)

    def _run_compaction(self, *, final: bool) -> None:
        """Merge the chunks of each finished window (all windows when ``final``)."""
        from metricslib.collector.storage.compaction import run_compaction

        run_compaction(self, final=final)

    def rewrite_chunks(
        self, jobs: Sequence[tuple[MemSeries, list[int], list[tuple[I64, F64]]]]
    ) -> None:
        """Replace each job's chunks by their union with its extra sample runs."""
        from metricslib.collector.storage.compaction import rewrite_chunks

        rewrite_chunks(self, jobs)

    # --- retention -----------------------------------------------------------------------

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Delete chunks that ended before ``now - retention``; returns how many."""
        from metricslib.collector.storage.retention import apply_retention

        return apply_retention(self, now_ms)

    # --- bulk import -----------------------------------------------------------------------

    def import_series(self, items: Iterable[tuple[Labels, I64, F64]]) -> int:
        """Backfill whole series (timestamps increasing) in one transaction.

        Samples merge with what the store holds; at a timestamp already
        present the stored value is kept. Returns the number of samples given."""
        from metricslib.collector.storage.compaction import import_series

        return import_series(self, items)


# Imported late: both modules need Store's type only for annotations.
from metricslib.collector.storage.appender import StoreAppender  # noqa: E402
from metricslib.collector.storage.querier import StoreQuerier  # noqa: E402
