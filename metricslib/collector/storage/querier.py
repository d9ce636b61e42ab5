"""Reads: label matchers and a time range in, numpy-backed ``Series`` out.

The series list, chunk ids and head samples are taken in one short critical
section; decoding happens outside it, so a long query never holds up
appenders. If a chunk was merged away between the two steps (window
compaction, import), the select simply runs again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Matcher, Series, SeriesBatch
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries, merge_samples
from metricslib.collector.storage.pending import PendingRows
from metricslib.collector.storage.plan import SelectPlan
from metricslib.errors import StorageError

__all__ = ["StoreQuerier", "join_plan", "select_joined"]

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
_C_IDS = attrgetter("c_ids")
_C_MINT = attrgetter("c_mint")
_C_MAXT = attrgetter("c_maxt")
_SID = attrgetter("sid")
#: head buffers joined per C call under the lock (see _joined)
_JOIN_PIECE = 8192


class StoreQuerier:
    def __init__(self, head: Head, chunks: ChunkReader) -> None:
        self._head = head
        self._chunks = chunks

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        return self.select_batch(matchers, mint_ms, maxt_ms).series()

    def select_batch(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> SeriesBatch:
        """What :meth:`select` returns, as one flat batch (what the PromQL engine reads)."""
        return select_joined(lambda: self.select_plan(matchers, mint_ms, maxt_ms), self._chunks)

    def select_plan(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SelectPlan:
        """The half of a select done under the head's lock (see ``plan.py``); its other
        half, :func:`join_plan`, may run anywhere that can read the chunks."""
        head = self._head
        head.check_open()
        # Under the lock only C-level copies: the selected series (cached, already sorted),
        # every one's head samples joined into one buffer, and the chunk bounds of the
        # series whose chunks reach into the range joined the same way. No Python step
        # per series or per chunk holds the lock, so appenders (the scrapes) wait for
        # a few joins, not for a walk over every selected series.
        with head.lock:
            sel = head.selections.get(head.index, head.by_id, matchers)
            series = sel.series
            if not series:
                return SelectPlan.empty(mint, maxt)
            labels = list(sel.labels)
            sids = np.fromiter(map(_SID, series), dtype=np.int64, count=len(series))
            tss = list(map(_TS, series))
            lens = np.fromiter(map(len, tss), dtype=np.int64, count=len(tss))
            t_all: I64 = np.frombuffer(_joined(tss), dtype=np.int64)
            v_all: F64 = np.frombuffer(_joined(list(map(_VS, series))), dtype=np.float64)
            pending = PendingRows.take(series, head.blocks)
            c_end = np.fromiter(map(_C_END, series), dtype=np.int64, count=len(series))
            reach = np.flatnonzero(c_end >= mint)
            meta = _chunk_meta(series, reach) if reach.size else None
        if pending is not None:  # the newest samples of series in column blocks, after their own
            t_all, v_all, h_offs = pending.join(t_all, v_all, lens)
        else:
            h_offs = np.zeros(len(series) + 1, dtype=np.int64)
            np.cumsum(lens, out=h_offs[1:])
        ht, hv, h_offs = _trim(t_all, v_all, h_offs, mint, maxt)
        return SelectPlan(mint, maxt, labels, sids, ht, hv, h_offs, reach, meta)

    @staticmethod
    def _with_chunks(
        chunks: ChunkReader, reach: I64, meta: tuple[I64, I64, I64, I64], ht: I64, hv: F64, h_offs: I64,
        mint: int, maxt: int,
    ) -> tuple[I64, F64, I64] | None:
        """Head samples with the samples of the chunks in [mint, maxt] placed before each
        series' head samples; None when a chunk was rewritten meanwhile.

        Which chunks, where each series' run goes and the interleaving are numpy passes
        over all chunks at once; the only Python step per chunk is looking it up."""
        ids, c_mint, c_maxt, c_offs = meta
        # A series' chunks are sorted and never overlap, so the chunks a bisect of its
        # bounds would find are exactly those overlapping the range.
        hit = (c_maxt >= mint) & (c_mint <= maxt)
        if not hit.any():
            return ht, hv, h_offs
        owner = np.repeat(reach, c_offs[1:] - c_offs[:-1])[hit]  # series of each wanted chunk
        ids, c_mint, c_maxt = ids[hit], c_mint[hit], c_maxt[hit]
        wanted = ids.tolist()
        arrays = chunks.arrays(wanted)
        if len(arrays) < len(set(wanted)):
            return None
        # The first chunk of each series' run starts it and the last one ends it.
        new_run = np.ones(owner.shape[0], dtype=bool)
        new_run[1:] = owner[1:] != owner[:-1]
        firsts = np.flatnonzero(new_run)
        lasts = np.append(firsts[1:] - 1, owner.shape[0] - 1)
        runs = owner[firsts]
        head_n = h_offs[1:] - h_offs[:-1]
        # Only if an import ran while a series was being appended do its head and its
        # chunks overlap; they must then be merged, not joined (rare: the slow path).
        has_head = head_n[runs] > 0
        first_head_t = ht[np.where(has_head, h_offs[runs], 0)] if ht.shape[0] else np.zeros(runs.shape[0], np.int64)
        if bool((has_head & (first_head_t <= c_maxt[lasts])).any()):
            chunked = [
                (k, ids[a : b + 1].tolist(), int(c_mint[a]), int(c_maxt[b]))
                for k, a, b in zip(runs.tolist(), firsts.tolist(), lasts.tolist(), strict=True)
            ]
            return StoreQuerier._chunk_parts(chunked, arrays, ht, hv, h_offs, mint, maxt)
        pairs = list(map(arrays.__getitem__, wanted))
        ct = np.concatenate([p[0] for p in pairs])
        cv = np.concatenate([p[1] for p in pairs])
        sizes_c = np.fromiter((p[0].shape[0] for p in pairs), dtype=np.float64, count=len(pairs))
        chunk_n = np.bincount(owner, weights=sizes_c, minlength=head_n.shape[0]).astype(np.int64)
        c_start = np.zeros(head_n.shape[0] + 1, dtype=np.int64)
        np.cumsum(chunk_n, out=c_start[1:])
        # Only the chunks at the edges of the range reach past it, and their samples out
        # of range are at the start or the end of their series' run: count them per
        # series, and send them to a spare slot past the end of the output.
        outside: Mask | None = None
        lead = np.zeros(head_n.shape[0], dtype=np.int64)
        if int(c_mint.min()) < mint or int(c_maxt.max()) > maxt:
            below = ct < mint
            outside = below | (ct > maxt)
            if outside.any():
                lead = _run_counts(below, c_start, chunk_n)
                chunk_n = chunk_n - _run_counts(outside, c_start, chunk_n)
            else:
                outside = None
        # Interleave: series k's chunk samples, then its head samples, for every k. Each
        # sample's place is its index in its own run shifted by its series' start (index
        # scatters: a boolean-mask assignment of the same arrays is ~10x slower).
        offs = np.zeros(head_n.shape[0] + 1, dtype=np.int64)
        np.cumsum(chunk_n + head_n, out=offs[1:])
        total = int(offs[-1])
        to_c = np.arange(ct.shape[0], dtype=np.int64)
        to_c += np.repeat(offs[:-1] - c_start[:-1] - lead, c_start[1:] - c_start[:-1])
        if outside is not None:
            to_c[outside] = total
        to_h = np.arange(ht.shape[0], dtype=np.int64)
        to_h += np.repeat(offs[:-1] + chunk_n - h_offs[:-1], head_n)
        t_all = np.empty(total + 1, dtype=np.int64)
        v_all = np.empty(total + 1, dtype=np.float64)
        t_all[to_c] = ct
        v_all[to_c] = cv
        t_all[to_h] = ht
        v_all[to_h] = hv
        return t_all[:total], v_all[:total], offs

    @staticmethod
    def _chunk_parts(
        chunked: list[tuple[int, list[int], int, int]], arrays: dict[int, tuple[I64, F64]],
        ht: I64, hv: F64, h_offs: I64, mint: int, maxt: int,
    ) -> tuple[I64, F64, I64]:
        """The selected samples, each chunked series' chunk samples placed before its head
        samples, merging where head and chunks overlap (a Python step per chunk: only
        used when some series' head and chunks overlap)."""
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
            head.settle()  # the series' own buffers hold all their head samples
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


def select_joined(make_plan: Callable[[], SelectPlan], chunks: ChunkReader) -> SeriesBatch:
    """A plan joined with its chunks, planned again while a chunk it names was
    rewritten in between (wherever the plan is made: here or in the collector)."""
    for _ in range(_ATTEMPTS):
        result = join_plan(make_plan(), chunks)
        if result is not None:
            return result
    raise StorageError("select kept racing with chunk rewrites; try again")


def join_plan(plan: SelectPlan, chunks: ChunkReader) -> SeriesBatch | None:
    """The series of ``plan`` with their chunk samples read through ``chunks`` and placed
    before their head samples; None when a chunk was rewritten since the plan was made
    (make a new plan)."""
    ht, hv, h_offs = plan.ht, plan.hv, plan.h_offs
    if plan.chunks is not None:
        joined = StoreQuerier._with_chunks(chunks, plan.reach, plan.chunks, ht, hv, h_offs, plan.mint, plan.maxt)
        if joined is None:
            return None
        ht, hv, h_offs = joined
    # The arrays are fresh (joined, masked or interleaved here): callers never hold
    # a view of a cached chunk. Series with nothing in the range are dropped.
    return SeriesBatch(plan.labels, ht, hv, h_offs).without_empty()


def _chunk_meta(series: list[MemSeries], reach: I64) -> tuple[I64, I64, I64, I64]:
    """Chunk ids, mints and maxts of ``series[k]`` for k in ``reach``, joined (call under
    the head's lock), and where each series' chunks start in them."""
    picked = series if reach.shape[0] == len(series) else [series[k] for k in reach.tolist()]
    c_ids = list(map(_C_IDS, picked))
    n = np.fromiter(map(len, c_ids), dtype=np.int64, count=len(c_ids))
    offs = np.zeros(n.shape[0] + 1, dtype=np.int64)
    np.cumsum(n, out=offs[1:])
    ids: I64 = np.frombuffer(bytearray().join(c_ids), dtype=np.int64)
    c_mint: I64 = np.frombuffer(bytearray().join(map(_C_MINT, picked)), dtype=np.int64)
    c_maxt: I64 = np.frombuffer(bytearray().join(map(_C_MAXT, picked)), dtype=np.int64)
    return ids, c_mint, c_maxt, offs


def _joined(parts: list[Any]) -> bytearray:
    """``bytearray().join(parts)``, a few thousand buffers per C call: one join of every
    selected series' head at 200k series holds the interpreter for over 100 ms (a late
    scrape at a 1 s interval); between pieces the scrape threads run (the head lock is
    still held, so what they get done meanwhile is fetching, not committing)."""
    if len(parts) <= _JOIN_PIECE:
        return bytearray().join(parts)
    out = bytearray()
    for i in range(0, len(parts), _JOIN_PIECE):
        out += bytearray().join(parts[i : i + _JOIN_PIECE])
    return out


def _run_counts(flags: Mask, starts: I64, sizes: I64) -> I64:
    """How many of ``flags`` are set in each run ``starts[k]:starts[k + 1]`` (of ``sizes[k]``)."""
    counts = np.zeros(sizes.shape[0], dtype=np.int64)
    nonempty = np.flatnonzero(sizes)
    if nonempty.size:
        # Empty runs between them have no length, so the runs left are back to back.
        counts[nonempty] = np.add.reduceat(flags, starts[nonempty], dtype=np.int64)
    return counts


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
