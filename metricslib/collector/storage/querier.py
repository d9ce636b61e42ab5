"""Reads: label matchers and a time range in, numpy-backed ``Series`` out.

The series list, chunk ids and head samples are taken in one short critical
section; decoding happens outside it, so a long query never holds up
appenders. If a chunk was merged away between the two steps (window
compaction, import), the select simply runs again.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Matcher, Series, SeriesBatch
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries, merge_samples
from metricslib.errors import StorageError

__all__ = ["StoreQuerier"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
_MIN = -(2**63)
_MAX = 2**63 - 1
_ATTEMPTS = 5
#: edge chunks longer than this are sliced one by one; shorter ones are masked in bulk
_SLICE_ABOVE = 512
# attrgetter in map() reads an attribute of many series without a Python frame per series
_TS = attrgetter("ts")
_VS = attrgetter("vs")
_C_END = attrgetter("c_end")


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
        # Under the lock: the selected series (cached, already sorted), every one's head
        # samples joined into one buffer by C code, and the chunk ids of the few series
        # whose chunks reach into the range. No per-series numpy call, no tuple per series.
        chunked: list[tuple[int, list[int], int, int]] = []
        with head.lock:
            sel = head.selections.get(head.index, head.by_id, matchers)
            series = sel.series
            if not series:
                return SeriesBatch.empty()
            labels = list(sel.labels)
            tss = list(map(_TS, series))
            lens = np.fromiter(map(len, tss), dtype=np.int64, count=len(tss))
            t_all: I64 = np.frombuffer(bytearray().join(tss), dtype=np.int64)
            v_all: F64 = np.frombuffer(bytearray().join(map(_VS, series)), dtype=np.float64)
            c_end = np.fromiter(map(_C_END, series), dtype=np.int64, count=len(series))
            for k in np.flatnonzero(c_end >= mint).tolist():
                s = series[k]
                lo = bisect_left(s.c_maxt, mint)
                hi = bisect_right(s.c_mint, maxt)
                if lo < hi:
                    chunked.append((k, s.c_ids[lo:hi].tolist(), s.c_mint[lo], s.c_maxt[hi - 1]))
        h_offs = np.zeros(len(series) + 1, dtype=np.int64)
        np.cumsum(lens, out=h_offs[1:])
        ht, hv, h_offs = _trim(t_all, v_all, h_offs, mint, maxt)
        if chunked:
            joined = self._chunk_parts(chunked, ht, hv, h_offs, mint, maxt)
            if joined is None:
                return None
            ht, hv, h_offs = joined
        # The arrays are fresh (joined, masked or interleaved here): callers never hold
        # a view of a cached chunk. Series with nothing in the range are dropped.
        return SeriesBatch(labels, ht, hv, h_offs).without_empty()

    def _chunk_parts(
        self, chunked: list[tuple[int, list[int], int, int]], ht: I64, hv: F64, h_offs: I64, mint: int, maxt: int
    ) -> tuple[I64, F64, I64] | None:
        """The selected samples, each chunked series' chunk samples placed before its head
        samples; None when a chunk was rewritten meanwhile (the select then runs again).

        Runs of series without chunks stay one slice of the head arrays, so the Python
        work is per chunk, never per series."""
        wanted = [cid for p in chunked for cid in p[1]]
        arrays = self._chunks.arrays(wanted)
        if len(arrays) < len(set(wanted)):
            return None
        parts_t: list[I64] = []
        parts_v: list[F64] = []
        # extra[k]: samples series k gains over its head samples (its chunks, less the
        # head samples a merge absorbed)
        extra = np.zeros(h_offs.shape[0] - 1, dtype=np.int64)
        edges = np.array([mint, maxt + 1], dtype=np.int64)
        bounds = h_offs.tolist()
        pos = 0  # head samples before this are placed
        untrimmed = False
        for k, ids, first_mint, last_maxt in chunked:
            a, b = bounds[k], bounds[k + 1]
            if pos < a:
                parts_t.append(ht[pos:a])
                parts_v.append(hv[pos:a])
            pos = a
            last = len(ids) - 1
            mark = len(parts_t)
            for j, c in enumerate(ids):
                t, v = arrays[c]
                # Only the chunks at the edges of the range reach past it. A big one is
                # sliced here; small ones (the head's cuts) are kept whole and trimmed
                # with everything else by one mask below, not one searchsorted each.
                if (j == 0 and first_mint < mint) or (j == last and last_maxt > maxt):
                    if t.shape[0] > _SLICE_ABOVE:
                        lo, hi = t.searchsorted(edges).tolist()
                        t, v = t[lo:hi], v[lo:hi]
                    else:
                        untrimmed = True
                parts_t.append(t)
                parts_v.append(v)
            if a < b and ht[a] <= last_maxt:
                # Only if an import ran while this series was being appended: head and
                # chunks then overlap and must be merged, not joined.
                t, v = merge_samples([*zip(parts_t[mark:], parts_v[mark:], strict=True), (ht[a:b], hv[a:b])])
                del parts_t[mark:], parts_v[mark:]
                parts_t.append(t)
                parts_v.append(v)
                pos = b
                extra[k] = t.shape[0] - (b - a)
            else:
                extra[k] = sum(p.shape[0] for p in parts_t[mark:])
        if pos < ht.shape[0]:
            parts_t.append(ht[pos:])
            parts_v.append(hv[pos:])
        offs = h_offs.copy()
        offs[1:] += np.cumsum(extra)
        t_all, v_all = np.concatenate(parts_t), np.concatenate(parts_v)
        if untrimmed:
            return _trim(t_all, v_all, offs, mint, maxt)
        return t_all, v_all, offs

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


def _trim(t: I64, v: F64, offs: I64, mint: int, maxt: int) -> tuple[I64, F64, I64]:
    """Only the samples in [mint, maxt] of flat per-series runs, with their new offsets."""
    keep = (t >= mint) & (t <= maxt)
    if keep.all():
        return t, v, offs
    return t[keep], v[keep], _kept_offsets(keep, offs)


def _kept_offsets(keep: Mask, offs: I64) -> I64:
    cum = np.zeros(keep.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep, out=cum[1:])
    return cum[offs]
