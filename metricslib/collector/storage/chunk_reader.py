"""Decoded chunks by id: the chunk cache in front of the database's chunk table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from metricslib.collector.storage.cache import ChunkCache
from metricslib.collector.storage.chunks import decode_chunks
from metricslib.collector.storage.memseries import MemSeries

__all__ = ["ChunkBlobs", "ChunkReader"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class ChunkBlobs(Protocol):
    """Where encoded chunks are read from: the store's ``Database``, or a read-only
    connection in a query process (``readonly.py``)."""

    def fetch_chunks(self, ids: Sequence[int]) -> dict[int, bytes]: ...


class ChunkReader:
    def __init__(self, db: ChunkBlobs, cache: ChunkCache) -> None:
        self.db = db
        self.cache = cache

    def arrays(self, ids: Sequence[int]) -> dict[int, tuple[I64, F64]]:
        """The samples of each chunk still stored; ids that were rewritten are absent."""
        out, missing = self.cache.get_many(ids)
        if missing:
            decoded = self._decode(missing)
            self.cache.put_many(_tail_that_fits(decoded, self.cache.max_samples))
            out.update(decoded)
        return out

    def arrays_uncached(self, ids: Sequence[int]) -> dict[int, tuple[I64, F64]]:
        """As :meth:`arrays` for a rewrite: taken from the cache when there (no hit
        counted, nothing refreshed) but never put in it, since the rewrite deletes them."""
        out = self.cache.peek_many(ids)
        missing = [cid for cid in ids if cid not in out]
        if missing:
            out.update(self._decode(missing))
        return out

    def _decode(self, ids: Sequence[int]) -> dict[int, tuple[I64, F64]]:
        """The stored ones among ``ids``, read from the database and decoded."""
        blobs = self.db.fetch_chunks(ids)
        found = [cid for cid in ids if cid in blobs]
        return dict(zip(found, decode_chunks([blobs[cid] for cid in found]), strict=True))

    def last_value(self, s: MemSeries) -> float | None:
        """Value at ``last_t`` when it only lives in the newest chunk on disk."""
        if s.last_v is not None or not s.c_ids:
            return s.last_v
        ts, vs = self.arrays([s.c_ids[-1]])[s.c_ids[-1]]
        s.last_v = float(vs[-1]) if ts.size and int(ts[-1]) == s.last_t else None
        return s.last_v


def _tail_that_fits(decoded: dict[int, tuple[I64, F64]], room: int) -> dict[int, tuple[I64, F64]]:
    """The last chunks of a read that fit in the cache together.

    The LRU would keep exactly these after inserting the whole read; leaving the
    rest out skips inserting and then evicting them (a range query over more
    samples than the cache holds keeps the same tail cached, and the next run
    of it finds that tail before decoding the rest)."""
    total = 0
    keep = 0
    for t, _ in reversed(decoded.values()):
        total += t.shape[0]
        if total > room:
            break
        keep += 1
    if keep == len(decoded):
        return decoded
    items = list(decoded.items())
    return dict(items[len(items) - keep :])
