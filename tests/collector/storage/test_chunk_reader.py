from __future__ import annotations

from pathlib import Path

import numpy as np

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import open_storage


def test_a_read_bigger_than_the_cache_leaves_the_cache_alone(tmp_path: Path) -> None:
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
        # 180 samples do not fit in 100: decoded, returned, not cached (the small
        # select's chunk is still there).
        every = q.select([Matcher("__name__", "=", "x")], 0, 60_000)
        assert [s.values[-1] for s in every] == [59.0, 60.0, 61.0]
        assert len(store.cache) == 1
        hits, misses = store.cache.hits, store.cache.misses
        again = q.select([Matcher("i", "=", "0")], 0, 60_000)
        assert again[0].values.tolist() == small[0].values.tolist()
        assert (store.cache.hits, store.cache.misses) == (hits + 1, misses)
    finally:
        store.close()
