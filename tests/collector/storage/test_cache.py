from __future__ import annotations

import numpy as np
import pytest

from metricslib.collector.storage.cache import ChunkCache


def _arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n, dtype=np.int64), np.zeros(n)


def test_least_recently_used_goes_first_and_size_is_in_samples() -> None:
    cache = ChunkCache(max_samples=30)
    cache.put(1, _arrays(10))
    cache.put(2, _arrays(10))
    cache.put(3, _arrays(10))
    cache.get_many([1])  # 1 is now the most recent
    cache.put(4, _arrays(10))
    found, missing = cache.get_many([1, 2, 3, 4])
    assert sorted(found) == [1, 3, 4] and missing == [2]
    cache.put(5, _arrays(100))  # larger than the whole cache: not kept
    assert cache.get_many([5])[1] == [5]


def test_cached_arrays_are_read_only() -> None:
    cache = ChunkCache(10)
    cache.put(1, _arrays(3))
    ts, _ = cache.get_many([1])[0][1]
    with pytest.raises(ValueError):
        ts[0] = 5


def test_peek_neither_counts_nor_refreshes_and_discard_frees_room() -> None:
    cache = ChunkCache(max_samples=20)
    cache.put(1, _arrays(10))
    cache.put(2, _arrays(10))
    assert sorted(cache.peek_many([1, 3])) == [1]
    assert (cache.hits, cache.misses) == (0, 0)
    cache.put(3, _arrays(10))  # 1 was only peeked at: still the oldest, so it goes
    assert cache.get_many([1, 2, 3])[1] == [1]
    cache.discard_many([2, 99])
    assert len(cache) == 1
    cache.put(4, _arrays(10))  # room freed by the discard: nothing else is evicted
    assert cache.get_many([3, 4])[1] == []
