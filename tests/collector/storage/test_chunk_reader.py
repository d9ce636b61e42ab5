from __future__ import annotations

from pathlib import Path

import numpy as np

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import open_storage


def test_a_read_bigger_than_the_cache_caches_its_tail(tmp_path: Path) -> None:
    store = open_storage(str(tmp_path), background=False, wal=False, cache_samples=100)
    try:
        times = np.arange(60, dtype=np.int64) * 1000
        store.import_series(
            (make_labels({"__name__": "x", "i": str(i)}), times, np.arange(60, dtype=np.float64) + i)
            for i in range(3)
        )
        q = store.querier()
        small = q.select([Matcher("i", "=", "0")], 0, 60_000)
        assert len(store.cache) == 1  # 60 samples fit: cached
        # 180 samples do not fit in 100: all are returned, only the last chunk that
        # fits stays cached (what the LRU would keep), so reading it again is a hit.
        every = q.select([Matcher("__name__", "=", "x")], 0, 60_000)
        assert [s.values[-1] for s in every] == [59.0, 60.0, 61.0]
        assert len(store.cache) == 1
        for i, hit in ((2, True), (0, False)):
            hits, misses = store.cache.hits, store.cache.misses
            again = q.select([Matcher("i", "=", str(i))], 0, 60_000)
            assert again[0].values.tolist() == (np.arange(60, dtype=np.float64) + i).tolist()
            assert (store.cache.hits - hits, store.cache.misses - misses) == ((1, 0) if hit else (0, 1))
        assert small[0].values[0] == 0.0
    finally:
        store.close()
