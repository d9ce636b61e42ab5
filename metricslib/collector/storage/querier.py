"""Reads: label matchers and a time range in, numpy-backed ``Series`` out.

The series list, chunk ids and head samples are taken in one short critical
section; decoding happens outside it, so a long query never holds up
appenders. If a chunk was merged away between the two steps (window
compaction, import), the select simply runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels, Matcher, Series, SeriesBatch
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries, merge_samples
from metricslib.errors import StorageError

__all__ = ["StoreQuerier"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_MIN = -(2**63)
_MAX = 2**63 - 1
_ATTEMPTS = 5


class StoreQuerier:
    def __init__(self, head: Head, chunks: ChunkReader) -> None:
        self._head = head
        self._chunks = chunks

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        return self.select_batch(matchers, mint_ms, maxt_ms).series()

    def select_batch(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> SeriesBatch:
        """What :meth:`select` returns, as one flat batch (what the PromQL engine reads)."""
        for _ in range(_ATTEMPTS):
            result = self._try_select(matchers, mint_ms, maxt_ms)
            if result is not None:
                return result
        raise StorageError("select kept racing with chunk rewrites; try again")

    def _try_select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch | None:
        head = self._head
        head.check_open()
        # (sort key, labels, chunk ids, first chunk's mint, last chunk's maxt, head samples)
        plan: list[tuple[str, Labels, list[int], int, int, I64, F64]] = []
        with head.lock:
            by_id = head.by_id
            for sid in head.index.select(matchers):
                s = by_id[sid]
                read = s.read_plan(mint, maxt)
                if read is not None:
                    plan.append((s.sort_key(), s.labels, *read))
        if not plan:
            return SeriesBatch.empty()
        plan.sort(key=itemgetter(0))
        wanted = [cid for p in plan for cid in p[2]]
        arrays = self._chunks.arrays(wanted) if wanted else {}
        if len(arrays) < len(set(wanted)):
            return None
        parts_t: list[I64] = []
        parts_v: list[F64] = []
        ends: list[int] = []
        n = 0
        edges = np.array([mint, maxt + 1], dtype=np.int64)
        for _, _, ids, first_mint, last_maxt, ht, hv in plan:
            last = len(ids) - 1
            for j, c in enumerate(ids):
                t, v = arrays[c]
                # Only the chunks at the edges of the range reach past it; slicing them
                # copies far less than concatenating whole chunks and masking.
                if (j == 0 and first_mint < mint) or (j == last and last_maxt > maxt):
                    lo, hi = t.searchsorted(edges).tolist()
                    t, v = t[lo:hi], v[lo:hi]
                parts_t.append(t)
                parts_v.append(v)
                n += t.shape[0]
            if ht.size:
                if ids and ht[0] <= last_maxt:
                    # Only if an import ran while this series was being appended:
                    # head and chunks then overlap and must be merged, not joined.
                    k = len(ids)
                    n -= sum(p.shape[0] for p in parts_t[-k:])
                    t, v = merge_samples([*zip(parts_t[-k:], parts_v[-k:], strict=True), (ht, hv)])
                    del parts_t[-k:], parts_v[-k:]
                    ht, hv = t, v
                parts_t.append(ht)
                parts_v.append(hv)
                n += ht.shape[0]
            ends.append(n)
        offsets = np.zeros(len(ends) + 1, dtype=np.int64)
        offsets[1:] = ends
        # Concatenation makes fresh arrays: callers never hold a view of a shared cached
        # chunk. A chunk can overlap the range without a sample inside it: drop such series.
        batch = SeriesBatch([p[1] for p in plan], np.concatenate(parts_t), np.concatenate(parts_v), offsets)
        return batch.without_empty()

    def _matching(
        self, matchers: Sequence[Matcher], mint: int | None, maxt: int | None
    ) -> list[MemSeries]:
        head = self._head
        head.check_open()
        lo = _MIN if mint is None else mint
        hi = _MAX if maxt is None else maxt
        found = []
        with head.lock:
            for sid in head.index.select(matchers):
                s = head.by_id[sid]
                first = s.first_t()
                if first is None or first > hi or s.last_t < lo:
                    continue
                if (mint is not None or maxt is not None) and s.read_plan(lo, hi) is None:
                    continue
                found.append(s)
        return found

    def label_names(
        self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]:
        if not matchers and mint_ms is None and maxt_ms is None:
            with self._head.lock:
                return self._head.index.label_names()
        names: set[str] = set()
        for s in self._matching(matchers, mint_ms, maxt_ms):
            names.update(k for k, _ in s.labels)
        return sorted(names)

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        mint_ms: int | None = None,
        maxt_ms: int | None = None,
    ) -> list[str]:
        if not matchers and mint_ms is None and maxt_ms is None:
            with self._head.lock:
                return sorted(self._head.index.values_of(name))
        values: set[str] = set()
        for s in self._matching(matchers, mint_ms, maxt_ms):
            for k, v in s.labels:
                if k == name:
                    values.add(v)
        return sorted(values)
