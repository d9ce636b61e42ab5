"""A select's plan: what a query takes from the head under its lock.

A select has two halves. The first runs under the head's lock and is C-level
copies only: which series (ids and labels, sorted), their head samples in the
range, and the bounds of the chunks that reach into it. The second reads and
decodes those chunks and joins them before each series' head samples
(``querier.join_plan``). Splitting the two lets another process (the query
process, see docs/architecture.md) do the second half with its own read-only
connection and chunk cache: a plan names chunks by id, and chunk ids are
never reused (``AUTOINCREMENT``), so a decoded chunk stays valid forever.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels

__all__ = ["ChunkBounds", "SelectPlan"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: chunk ids, mints and maxts of the series in ``reach``, joined, and where each one's start
ChunkBounds = tuple[I64, I64, I64, I64]


@dataclass
class SelectPlan:
    """The series a select chose and everything of theirs but the chunk samples."""

    mint: int
    maxt: int
    #: per selected series, sorted by labels
    labels: list[Labels]
    sids: I64
    #: head samples in [mint, maxt], flat; series k's are ``ht[h_offs[k]:h_offs[k + 1]]``
    ht: I64
    hv: F64
    h_offs: I64
    #: positions of the series whose chunks reach into the range, and those chunks' bounds
    reach: I64
    chunks: ChunkBounds | None

    @classmethod
    def empty(cls, mint: int, maxt: int) -> SelectPlan:
        none = np.zeros(0, dtype=np.int64)
        return cls(mint, maxt, [], none, none, np.zeros(0, dtype=np.float64), np.zeros(1, dtype=np.int64), none, None)
