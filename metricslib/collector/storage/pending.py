"""A select's view of the column blocks' rows: the newest head samples of the
series that belong to a block (``columns.ColumnBlock``), not yet in their own
buffers.

:meth:`PendingRows.take` runs under the head's lock and only copies: which
block and column each selected series has (two C-level ``map``s), and the
rows of each block that holds some of them (one copy per block, i.e. per
scrape target, none per series). :meth:`PendingRows.join` runs after the
lock is released and places each series' column of its block after its own
head samples, with numpy passes over all series at once.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from metricslib.collector.storage.columns import ColumnBlock
from metricslib.collector.storage.memseries import MemSeries

__all__ = ["PendingRows"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_BLOCK = attrgetter("block")
_COL = attrgetter("col")


class PendingRows:
    """The rows some selected series have in column blocks, copied under the lock."""

    __slots__ = ("_blocks", "_cols", "_rows")

    def __init__(self, blocks: list[ColumnBlock | None], cols: list[int],
                 rows: dict[ColumnBlock, tuple[bytes, bytes, int]]) -> None:
        self._blocks = blocks
        self._cols = cols
        #: block -> (its row times, its rows, its width), as copied
        self._rows = rows

    @classmethod
    def take(cls, series: list[MemSeries], with_rows: set[ColumnBlock]) -> PendingRows | None:
        """Call under the head's lock; ``with_rows`` is the head's set of blocks
        that have rows. None when no selected series has any."""
        if not with_rows:
            return None
        blocks = list(map(_BLOCK, series))
        used = with_rows.intersection(blocks)
        if not used:
            return None
        rows = {b: (b.times.tobytes(), b.values.tobytes(), len(b.series)) for b in used}
        return cls(blocks, list(map(_COL, series)), rows)

    def join(self, t_all: I64, v_all: F64, lens: I64) -> tuple[I64, F64, I64]:
        """The head samples (``lens[k]`` for series k, back to back) with every
        series' pending rows after its own samples; returns them and the
        per-series offsets.

        Each block's rows are transposed once, so every series' column is a
        contiguous run; the output is then two runs per series (its own
        samples, its column) gathered from one pool by one index array."""
        order_of: dict[ColumnBlock | None, int] = {b: i for i, b in enumerate(self._rows)}
        find: Callable[[ColumnBlock | None, int], int] = order_of.get
        n = len(self._blocks)
        which = np.fromiter(map(find, self._blocks, repeat(-1)), dtype=np.int64, count=n)
        if not t_all.shape[0]:
            same = self._same_rows(which)
            if same is not None:
                return same
        pool_t: list[I64] = [t_all]
        pool_v: list[F64] = [v_all]
        for t_bytes, v_bytes, width in self._rows.values():
            times = np.frombuffer(t_bytes, dtype=np.int64)
            rows = np.frombuffer(v_bytes, dtype=np.float64).reshape(times.shape[0], width)
            pool_t.append(np.tile(times, width))
            pool_v.append(rows.T.ravel())  # series after series
        n_rows = np.array([p.shape[0] for p in pool_t[1:]], dtype=np.int64) // np.array(
            [w for _, _, w in self._rows.values()], dtype=np.int64)
        at = np.cumsum([t_all.shape[0]] + [p.shape[0] for p in pool_t[1:-1]], dtype=np.int64)
        has = which >= 0
        b = np.where(has, which, 0)
        extra = np.where(has, n_rows[b], 0)
        pend_at = np.where(has, at[b] + np.array(self._cols, dtype=np.int64) * n_rows[b], 0)
        own_at = np.zeros(n, dtype=np.int64)
        np.cumsum(lens[:-1], out=own_at[1:])
        counts = np.stack([lens, extra], axis=1).ravel()
        starts = np.stack([own_at, pend_at], axis=1).ravel()
        out_at = np.zeros(2 * n + 1, dtype=np.int64)
        np.cumsum(counts, out=out_at[1:])
        idx = np.repeat(starts - out_at[:-1], counts) + np.arange(int(out_at[-1]), dtype=np.int64)
        return np.concatenate(pool_t)[idx], np.concatenate(pool_v)[idx], out_at[::2].copy()

    def _same_rows(self, which: I64) -> tuple[I64, F64, I64] | None:
        """The usual case after a cut: no series has samples of its own, each is in a
        block, and every block has as many rows. Each block is transposed into one
        (series x rows) table, and the output is a gather of whole table rows."""
        sizes = {len(t) for t, _, _ in self._rows.values()}
        if len(sizes) != 1 or bool((which < 0).any()):
            return None
        width_of = [w for _, _, w in self._rows.values()]
        k = sizes.pop() // 8
        table = np.empty((sum(width_of), k), dtype=np.float64)
        times = np.empty((len(width_of), k), dtype=np.int64)
        at = 0
        for i, (t_bytes, v_bytes, width) in enumerate(self._rows.values()):
            table[at : at + width] = np.frombuffer(v_bytes, dtype=np.float64).reshape(k, width).T
            times[i] = np.frombuffer(t_bytes, dtype=np.int64)
            at += width
        starts = np.cumsum([0, *width_of[:-1]], dtype=np.int64)
        row = starts[which] + np.array(self._cols, dtype=np.int64)
        n = which.shape[0]
        return times[which].ravel(), table[row].ravel(), np.arange(n + 1, dtype=np.int64) * k
