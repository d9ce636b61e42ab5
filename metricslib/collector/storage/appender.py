"""Appenders: batches of samples that become visible together on commit.

Two ways in: ``append(labels, t, v)`` looks the series up by its label set
and returns its ref; ``append_ref(ref, t, v)`` skips the lookup, for callers
(the scraper's series cache, the importer) that kept the ref from an earlier
``append``. A ref stays valid while the store is open and the series has not
been deleted by retention; an unknown ref raises ``StorageError``.

``append_column(refs, t, values)`` is the scraper's bulk path for a target
whose series are the same as last time: one timestamp for the whole column,
no per-sample check before commit. Commit still refuses a sample that is not
newer than its series' newest (or whose series is gone) and reports how many
it refused in ``refused`` (their refs), so the caller can go back to the checked path.
When ``refs`` is a :class:`~metricslib.collector.storage.columns.ColumnRefs`
kept from one commit to the next, the head appends the whole column without
a lookup or check per sample (``Head._append_column``) and the WAL logs it as
one record.
"""

from __future__ import annotations

from metricslib.collector.model import Labels
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.head import Column, Head
from metricslib.collector.storage.memseries import same_value
from metricslib.errors import OutOfOrderSampleError, StorageError

__all__ = ["StoreAppender"]


class StoreAppender:
    """Not shared between threads: each scrape loop takes its own."""

    def __init__(self, head: Head, chunks: ChunkReader) -> None:
        self._head = head
        self._chunks = chunks
        self._refs: list[int] = []
        self._ts: list[int] = []
        self._vs: list[float] = []
        # Newest queued sample per series, so a batch is checked against itself too.
        self._pending: dict[int, tuple[int, float]] = {}
        # The first column of the batch, kept apart for the head's bulk append.
        self._column: Column | None = None
        #: Refs of the samples the last commit refused (out of order, or series gone).
        self.refused: list[int] = []

    def __len__(self) -> int:
        return len(self._refs) + (len(self._column[0]) if self._column is not None else 0)

    def append(self, labels: Labels, t_ms: int, value: float) -> int:
        """Queue one sample; returns the series ref for later ``append_ref`` calls."""
        ref = self._head.series_ref(labels)
        self.append_ref(ref, t_ms, value)
        return ref

    def append_ref(self, ref: int, t_ms: int, value: float) -> None:
        pending = self._pending.get(ref)
        if pending is not None:
            last_t, last_v = pending
        else:
            s = self._head.by_id.get(ref)
            if s is None:
                raise StorageError(f"unknown series ref {ref} (deleted by retention?); append by labels")
            last_t, newest_v = self._head.newest(s)
            last_v = None
            if t_ms == last_t:
                last_v = newest_v if newest_v is not None else self._chunks.last_value(s)
        if t_ms <= last_t:
            if t_ms == last_t and last_v is not None and same_value(last_v, value):
                return  # an exact duplicate, e.g. a re-sent scrape: not an error
            labels = self._labels_of(ref)
            if t_ms == last_t:
                raise OutOfOrderSampleError(
                    f"series {labels}: sample at {t_ms} ms has value {value!r}, "
                    f"but that time already holds {last_v!r}"
                )
            raise OutOfOrderSampleError(
                f"series {labels}: sample at {t_ms} ms is older than its newest sample at {last_t} ms"
            )
        self._refs.append(ref)
        self._ts.append(int(t_ms))
        self._vs.append(float(value))
        self._pending[ref] = (t_ms, value)

    def append_column(self, refs: list[int], t_ms: int, values: list[float]) -> None:
        """Queue one sample per ref, all at ``t_ms``; checked at commit only."""
        if len(values) != len(refs):
            raise ValueError(f"append_column: {len(refs)} refs but {len(values)} values")
        if self._column is None and not self._refs:
            self._column = (refs, int(t_ms), values)
            return
        self._refs.extend(refs)
        self._ts.extend([int(t_ms)] * len(refs))
        self._vs.extend(values)

    def _labels_of(self, ref: int) -> str:
        s = self._head.by_id.get(ref)
        if s is None:
            return f"#{ref}"
        return "{" + ", ".join(f'{k}="{v}"' for k, v in s.labels) + "}"

    def commit(self) -> None:
        """Make the queued samples visible to queries; durable at the next flush."""
        if self._refs or self._column is not None:
            self.refused = self._head.commit(self._refs, self._ts, self._vs, self._column)
        else:
            self.refused = []
        self.rollback()

    def rollback(self) -> None:
        self._refs = []
        self._ts = []
        self._vs = []
        self._pending = {}
        self._column = None
