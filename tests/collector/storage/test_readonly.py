"""A read-only chunk reader beside the open store: the query process's half of a select."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import Store
from metricslib.collector.storage.querier import join_plan
from metricslib.collector.storage.readonly import ReadOnlyChunks, open_chunk_reader
from metricslib.errors import StorageError


def fill(store: Store) -> None:
    app = store.appender()
    for i in range(10):
        for t in range(0, 300_000, 1000):
            app.append(make_labels({"__name__": "m", "i": str(i)}), t, float(t * i))
    app.commit()
    store.flush(cut_all=True)
    app = store.appender()
    for i in range(10):
        app.append(make_labels({"__name__": "m", "i": str(i)}), 300_000, 1.5)
    app.commit()


def test_a_plan_joined_in_another_reader_equals_the_select(store: Store) -> None:
    fill(store)
    matchers = [Matcher("__name__", "=", "m")]
    reader = open_chunk_reader(store.db.dir, cache_samples=1000)
    for mint, maxt in [(0, 300_000), (1500, 250_500), (299_000, 10**12), (10**11, 10**12)]:
        want = store.querier().select_batch(matchers, mint, maxt)
        plan = store.querier().select_plan(matchers, mint, maxt)
        got = join_plan(plan, reader)
        assert got is not None
        assert got.labels == want.labels
        assert np.array_equal(got.timestamps, want.timestamps) and np.array_equal(got.values, want.values)
        assert np.array_equal(got.offsets, want.offsets)


def test_reads_the_chunks_the_store_wrote_without_its_lock(store: Store) -> None:
    fill(store)
    plan = store.querier().select_plan([Matcher("__name__", "=", "m")], 0, 10**12)
    assert plan.chunks is not None
    ids = plan.chunks[0].tolist()
    chunks = ReadOnlyChunks(store.db.dir)  # the store holds the directory lock meanwhile
    try:
        assert chunks.fetch_chunks(ids) == store.db.fetch_chunks(ids)
        assert chunks.fetch_chunks([10**12]) == {}  # rewritten or never there: absent
    finally:
        chunks.close()


def test_a_plan_naming_a_vanished_chunk_asks_for_a_new_plan(store: Store) -> None:
    fill(store)
    plan = store.querier().select_plan([Matcher("__name__", "=", "m")], 0, 10**12)
    assert plan.chunks is not None
    ids = plan.chunks[0].copy()
    ids[0] = 10**12
    plan.chunks = (ids, *plan.chunks[1:])
    assert join_plan(plan, open_chunk_reader(store.db.dir)) is None


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"metrics.sqlite does not exist"):
        ReadOnlyChunks(tmp_path)
