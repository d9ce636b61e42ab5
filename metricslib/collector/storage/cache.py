"""A thread-safe LRU of decoded chunks, bounded by the number of samples held.

Chunk ids are never reused (SQLite AUTOINCREMENT), so an entry can never go
stale: a rewritten chunk gets a new id. Rewrites drop the old ids at once
(``discard_many``) and read their inputs without filling the cache
(``peek_many``): a window merge touches every series' chunks once, and
caching what it decoded would fill the cache with chunks that no longer
exist (at 50k series and hours of data, ~1.5 kB per series of dead entries).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["ChunkCache"]

Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


class ChunkCache:
    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self._items: OrderedDict[int, Arrays] = OrderedDict()
        self._samples = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get_many(self, ids: Sequence[int]) -> tuple[dict[int, Arrays], list[int]]:
        found: dict[int, Arrays] = {}
        missing: list[int] = []
        with self._lock:
            items = self._items
            for cid in ids:
                arrs = items.get(cid)
                if arrs is None:
                    missing.append(cid)
                else:
                    items.move_to_end(cid)
                    found[cid] = arrs
            self.hits += len(found)
            self.misses += len(missing)
        return found, missing

    def peek_many(self, ids: Sequence[int]) -> dict[int, Arrays]:
        """The cached ones among ``ids``, without counting a hit or refreshing them."""
        with self._lock:
            items = self._items
            return {cid: arrs for cid in ids if (arrs := items.get(cid)) is not None}

    def discard_many(self, ids: Sequence[int]) -> None:
        """Forget chunks that were deleted (their ids will never be asked for again)."""
        with self._lock:
            items = self._items
            for cid in ids:
                arrs = items.pop(cid, None)
                if arrs is not None:
                    self._samples -= int(arrs[0].shape[0])

    def put(self, cid: int, arrays: Arrays) -> None:
        self.put_many({cid: arrays})

    def put_many(self, decoded: Mapping[int, Arrays]) -> None:
        """Add decoded chunks (one lock for all); the oldest entries make room."""
        for t, v in decoded.values():
            # Cached arrays are shared between queries: make accidental writes fail loudly.
            t.flags.writeable = False
            v.flags.writeable = False
        with self._lock:
            items = self._items
            for cid, arrays in decoded.items():
                n = int(arrays[0].shape[0])
                if n > self.max_samples or cid in items:
                    continue
                items[cid] = arrays
                self._samples += n
            while self._samples > self.max_samples:
                _, old = items.popitem(last=False)
                self._samples -= int(old[0].shape[0])
