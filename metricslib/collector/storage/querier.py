"""Reads: label matchers and a time range in, numpy-backed ``Series`` out.

The series list, chunk ids and head samples are taken in one short critical
section; decoding happens outside it, so a long query never holds up
appenders. If a chunk was merged away between the two steps (window
compaction, import), the select simply runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels, Matcher, Series
from metricslib.collector.storage.head import MemSeries, merge_samples
from metricslib.errors import StorageError

if TYPE_CHECKING:
    from metricslib.collector.storage.store import Store

__all__ = ["StoreQuerier"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_MIN = -(2**63)
_MAX = 2**63 - 1
_ATTEMPTS = 5


class StoreQuerier:
    def __init__(self, store: Store) -> None:
        self._store = store

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        for _ in range(_ATTEMPTS):
            result = self._try_select(matchers, mint_ms, maxt_ms)
            if result is not None:
                return result
        raise StorageError("select kept racing with chunk rewrites; try again")

    def _try_select(
        self, matchers: Sequence[Matcher], mint: int, maxt: int
    ) -> list[Series] | None:
        store = self._store
        store._check_open()
        plan: list[tuple[Labels, list[int], I64, F64]] = []
        with store._lock:
            for sid in store._index.select(matchers):
                s = store._by_id[sid]
                if s.last_t < mint:
                    continue
                first = s.first_t()
                if first is None or first > maxt:
                    continue
                ids = s.chunks_in(mint, maxt)
                ht, hv = s.head_range(mint, maxt)
                if ids or ht.size:
                    plan.append((s.labels, ids, ht, hv))
        wanted = [cid for _, ids, _, _ in plan for cid in ids]
        arrays = store._chunk_arrays(wanted) if wanted else {}
        if len(arrays) < len(set(wanted)):
            return None
        out: list[Series] = []
        for labels, ids, ht, hv in plan:
            parts_t = [arrays[c][0] for c in ids]
            parts_v = [arrays[c][1] for c in ids]
            if ht.size:
                if parts_t and parts_t[-1].size and ht[0] <= parts_t[-1][-1]:
                    # Only if an import ran while this series was being appended:
                    # head and chunks then overlap and must be merged, not joined.
                    ts, vs = merge_samples([*zip(parts_t, parts_v, strict=True), (ht, hv)])
                    parts_t, parts_v = [ts], [vs]
                    ht = ht[:0]
                else:
                    parts_t.append(ht)
                    parts_v.append(hv)
            ts = parts_t[0] if len(parts_t) == 1 else np.concatenate(parts_t)
            vs = parts_v[0] if len(parts_v) == 1 else np.concatenate(parts_v)
            if ids:
                lo = int(ts.searchsorted(mint, "left"))
                hi = int(ts.searchsorted(maxt, "right"))
                if lo >= hi:
                    continue
                if lo > 0 or hi < ts.shape[0] or len(parts_t) == 1:
                    # Copy so callers never hold a view of a shared cached array.
                    ts = ts[lo:hi].copy()
                    vs = vs[lo:hi].copy()
            out.append(Series(labels, ts, vs))
        out.sort(key=lambda x: x.labels)
        return out

    def _matching(
        self, matchers: Sequence[Matcher], mint: int | None, maxt: int | None
    ) -> list[MemSeries]:
        store = self._store
        store._check_open()
        lo = _MIN if mint is None else mint
        hi = _MAX if maxt is None else maxt
        found = []
        with store._lock:
            for sid in store._index.select(matchers):
                s = store._by_id[sid]
                first = s.first_t()
                if first is None or first > hi or s.last_t < lo:
                    continue
                if (mint is not None or maxt is not None) and not (
                    s.chunks_in(lo, hi) or s.head_range(lo, hi)[0].size
                ):
                    continue
                found.append(s)
        return found

    def label_names(
        self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]:
        if not matchers and mint_ms is None and maxt_ms is None:
            with self._store._lock:
                return self._store._index.label_names()
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
            with self._store._lock:
                return sorted(self._store._index.values_of(name))
        values: set[str] = set()
        for s in self._matching(matchers, mint_ms, maxt_ms):
            for k, v in s.labels:
                if k == name:
                    values.add(v)
        return sorted(values)
