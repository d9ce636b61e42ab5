"""In-memory state of one series: its recent samples and where its chunks are.

The head keeps the samples not yet cut into a chunk in ``array.array``
buffers (16 bytes a sample, cheap to append one at a time), except those of
a scrape target's column commits, which wait in its column block
(``columns.ColumnBlock``, ``block``/``col`` here) until the series is cut or
touched by another writer; older samples live in encoded chunks on disk,
described here by parallel lists of chunk ids and time bounds so a range
lookup is a bisect, not a scan.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels

if TYPE_CHECKING:
    from metricslib.collector.storage.columns import ColumnBlock

__all__ = ["NO_TIME", "MemSeries", "merge_samples", "same_value"]

#: last_t of a series that has no samples yet.
NO_TIME = -(2**63)
_D = struct.Struct("<d")
_NO_Q: array[int] = array("q")
_NO_L: array[int] = array("l")


def same_value(a: float, b: float) -> bool:
    """Bit equality, so NaN == NaN and a staleness marker differs from a plain NaN."""
    return a == b or _D.pack(a) == _D.pack(b)


class MemSeries:
    __slots__ = (
        "block",
        "c_end",
        "c_ids",
        "c_maxt",
        "c_mint",
        "c_n",
        "col",
        "flushed",
        "head_seq",
        "labels",
        "last_t",
        "last_v",
        "persisted",
        "sid",
        "sorts_as",
        "ts",
        "vs",
    )

    def __init__(self, sid: int, labels: Labels) -> None:
        self.sid = sid
        self.labels = labels
        self.ts = array("q")
        self.vs = array("d")
        #: how many head samples are already in a WAL record on disk
        self.flushed = 0
        #: WAL record holding the oldest flushed head sample (0: none)
        self.head_seq = 0
        self.last_t = NO_TIME
        #: None when the newest sample is only on disk (after a restart)
        self.last_v: float | None = None
        self.persisted = False
        self.sorts_as: str | None = None
        # Compact arrays, not lists: with 15 days of 2 h windows a series has
        # ~180 chunks, and Python ints in lists would cost ~30 kB per series.
        # Until its first chunk a series shares empty ones (they are never mutated).
        self.c_ids = _NO_Q
        self.c_mint = _NO_Q
        self.c_maxt = _NO_Q
        self.c_n = _NO_L
        #: the newest chunk's maxt (NO_TIME: no chunk), so a select tells which series
        #: reach into its range without touching their chunk arrays
        self.c_end = NO_TIME
        #: the column block this series belongs to (``columns.ColumnBlock``) and its
        #: column there; the block's rows, if any, are this series' newest head samples
        self.block: ColumnBlock | None = None
        self.col = 0

    def sort_key(self) -> str:
        """A string that sorts as ``labels`` does (tuple order), compared far faster.

        Pairs are joined with NUL, the smallest character; NUL and SOH inside
        values are escaped as SOH+SOH and SOH+STX, which keeps their order.
        Built on first use, so series never queried pay nothing.
        """
        key = self.sorts_as
        if key is None:
            parts: list[str] = []
            for name, value in self.labels:
                if "\x00" in value or "\x01" in value:
                    value = value.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")
                parts += (name, value)
            key = self.sorts_as = "\x00".join(parts)
        return key

    def add_chunk(self, cid: int, mint: int, maxt: int, n: int) -> None:
        if self.c_ids is _NO_Q:
            self.c_ids, self.c_mint, self.c_maxt, self.c_n = array("q"), array("q"), array("q"), array("l")
        # Chunks of one series never overlap, so keeping them sorted by mint
        # keeps maxt sorted too and both can be bisected.
        if not self.c_mint or mint > self.c_mint[-1]:
            self.c_ids.append(cid)
            self.c_mint.append(mint)
            self.c_maxt.append(maxt)
            self.c_n.append(n)
            self.c_end = maxt
            return
        i = bisect_left(self.c_mint, mint)
        self.c_ids.insert(i, cid)
        self.c_mint.insert(i, mint)
        self.c_maxt.insert(i, maxt)
        self.c_n.insert(i, n)
        self.c_end = self.c_maxt[-1]

    def drop_chunks(self, ids: set[int]) -> None:
        keep = [i for i, cid in enumerate(self.c_ids) if cid not in ids]
        self.c_ids = array("q", [self.c_ids[i] for i in keep])
        self.c_mint = array("q", [self.c_mint[i] for i in keep])
        self.c_maxt = array("q", [self.c_maxt[i] for i in keep])
        self.c_n = array("l", [self.c_n[i] for i in keep])
        self.c_end = self.c_maxt[-1] if self.c_maxt else NO_TIME

    def chunks_in(self, mint: int, maxt: int) -> list[int]:
        lo = bisect_left(self.c_maxt, mint)
        hi = bisect_right(self.c_mint, maxt)
        return self.c_ids[lo:hi].tolist()

    def read_plan(
        self, mint: int, maxt: int
    ) -> tuple[list[int], int, int, npt.NDArray[np.int64], npt.NDArray[np.float64]] | None:
        """What reading [mint, maxt] takes from this series, or None if nothing; call
        under the store lock. The ids of the chunks overlapping the range, the first
        one's mint and the last one's maxt (to know which need trimming), and copies
        of the head samples in the range. One call per series: selects read many."""
        if self.last_t < mint:
            return None
        c_mint = self.c_mint
        lo = bisect_left(self.c_maxt, mint)
        hi = bisect_right(c_mint, maxt)
        ts = self.ts
        ht, hv = _EMPTY_T, _EMPTY_V
        if ts and ts[0] <= maxt:
            h_lo = bisect_left(ts, mint)
            h_hi = bisect_right(ts, maxt)
            if h_lo < h_hi:
                ht = np.frombuffer(ts[h_lo:h_hi], dtype=np.int64)
                hv = np.frombuffer(self.vs[h_lo:h_hi], dtype=np.float64)
        if lo < hi:
            return self.c_ids[lo:hi].tolist(), c_mint[lo], self.c_maxt[hi - 1], ht, hv
        if ht.shape[0]:
            return [], 0, 0, ht, hv
        return None

    def chunk_positions_in(self, mint: int, maxt: int) -> range:
        return range(bisect_left(self.c_maxt, mint), bisect_right(self.c_mint, maxt))

    def first_t(self) -> int | None:
        if self.c_mint:
            return self.c_mint[0]
        if self.ts:
            return self.ts[0]
        block = self.block
        if block is not None and block.times:
            return block.times[0]
        return None

    def sample_count(self) -> int:
        return sum(self.c_n) + len(self.ts) + self.pending()

    def pending(self) -> int:
        """How many of its samples wait in its column block's rows."""
        block = self.block
        return len(block.times) if block is not None else 0

    def is_empty(self) -> bool:
        return not self.c_ids and not self.ts and not self.pending()


_EMPTY_T: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_V: npt.NDArray[np.float64] = np.empty(0, dtype=np.float64)


def merge_samples(
    parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Union of sample runs ordered by time; at equal timestamps the earlier part wins."""
    if not parts:
        return _EMPTY_T, _EMPTY_V
    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([p[0] for p in parts])
    vs = np.concatenate([p[1] for p in parts])
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    vs = vs[order]
    keep = np.ones(ts.shape[0], dtype=bool)
    keep[1:] = ts[1:] != ts[:-1]
    return ts[keep], vs[keep]
