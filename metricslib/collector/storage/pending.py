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
        per-series offsets."""
        order_of: dict[ColumnBlock | None, int] = {b: i for i, b in enumerate(self._rows)}
        find: Callable[[ColumnBlock | None, int], int] = order_of.get
        which = np.fromiter(map(find, self._blocks, repeat(-1)), dtype=np.int64,
                            count=len(self._blocks))
        times = [np.frombuffer(t, dtype=np.int64) for t, _, _ in self._rows.values()]
        n_rows = np.array([t.shape[0] for t in times], dtype=np.int64)
        extra = np.where(which >= 0, n_rows[which], 0)
        offs = np.zeros(lens.shape[0] + 1, dtype=np.int64)
        np.cumsum(lens + extra, out=offs[1:])
        total = int(offs[-1])
        t_out = np.empty(total, dtype=np.int64)
        v_out = np.empty(total, dtype=np.float64)
        h_starts = np.zeros(lens.shape[0], dtype=np.int64)
        np.cumsum(lens[:-1], out=h_starts[1:])
        to_h = np.arange(t_all.shape[0], dtype=np.int64) + np.repeat(offs[:-1] - h_starts, lens)
        t_out[to_h] = t_all
        v_out[to_h] = v_all
        cols = np.array(self._cols, dtype=np.int64)
        members = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[members], np.arange(len(times) + 1)).tolist()
        for i, (t, (_, v_bytes, width)) in enumerate(zip(times, self._rows.values(), strict=True)):
            picked = members[bounds[i]:bounds[i + 1]]
            rows = np.frombuffer(v_bytes, dtype=np.float64).reshape(t.shape[0], width)
            # Series k's rows go right after its own head samples.
            to = (offs[picked] + lens[picked])[:, None] + np.arange(t.shape[0], dtype=np.int64)
            t_out[to] = t
            v_out[to] = rows[:, cols[picked]].T
        return t_out, v_out, offs
