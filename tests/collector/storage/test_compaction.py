from __future__ import annotations

import threading

import numpy as np

from metricslib.collector.storage import Store
from tests.collector.storage.test_store import HOUR, _all, _fill, _labels


def test_finished_windows_are_merged_while_running(store: Store) -> None:
    store.head_chunk_samples = 10
    _fill(store, 1, 0, 1500)  # 7500 s: the first 2 h window is complete
    store.compact(final=False)
    s = store.head.by_id[store.series_ref(_labels(0))]
    first_window = [m for m in s.c_mint if m < 2 * HOUR]
    assert len(first_window) == 1
    ts, vs = _all(store)["0"]
    assert ts == list(range(0, 1500 * 5000, 5000))
    assert vs == [float(k) for k in range(1500)]


def test_import_series_merges_and_keeps_existing_values(store: Store) -> None:
    _fill(store, 1, 0, 10)  # t = 0..45000, values 0..9
    ts = np.arange(5, 20, dtype=np.int64) * 5000
    vs = np.full(15, -1.0)
    assert store.import_series([(_labels(0), ts, vs)]) == 15
    got_t, got_v = _all(store)["0"]
    assert got_t == list(range(0, 100_000, 5000))
    assert got_v == [float(k) for k in range(10)] + [-1.0] * 10
    # Appending continues after the imported data.
    app = store.appender()
    app.append(_labels(0), 100_000, 3.0)
    app.commit()
    assert _all(store)["0"][1][-1] == 3.0


def test_select_merges_when_an_import_overlaps_the_head(store: Store) -> None:
    app = store.appender()
    for t in range(100, 200, 10):
        app.append(_labels(0), t, 1.0)
    app.commit()
    s = store.head.by_id[store.series_ref(_labels(0))]
    # What an import racing with appends could leave: a chunk overlapping the head.
    store.rewrite_chunks([(s, [], [(np.arange(150, 260, 10, dtype=np.int64), np.full(11, 2.0))])])
    ts, vs = _all(store)["0"]
    assert ts == list(range(100, 260, 10))  # sorted, each timestamp once
    assert len(vs) == len(ts)


def test_a_stopped_compaction_writes_nothing_and_keeps_the_windows_queued(store: Store) -> None:
    from metricslib.collector.storage import compaction

    store.head_chunk_samples = 10
    _fill(store, 3, 0, 1500)  # the first 2 h window is complete, in chunks of 10
    due = {w: set(sids) for w, sids in store.head.compaction_due.items()}
    chunks = store.stats().chunks
    assert due
    stop = threading.Event()
    stop.set()
    compaction.run_compaction(store.head, store.db, store.chunks, final=False, stop=stop)
    assert store.stats().chunks == chunks
    assert store.head.compaction_due == due
    store.compact(final=False)  # the next pass does the work
    assert store.stats().chunks < chunks
    ts, _ = _all(store)["2"]
    assert ts == list(range(0, 1500 * 5000, 5000))


def test_a_pass_merges_at_most_max_jobs_windows(store: Store) -> None:
    from metricslib.collector.storage import compaction

    store.head_chunk_samples = 10
    _fill(store, 6, 0, 1500)
    store.head.compaction_due = {0: store.head.compaction_due[0]}  # the finished window
    assert len(store.head.compaction_due[0]) == 6
    merged = []
    for _ in range(3):
        compaction.run_compaction(store.head, store.db, store.chunks, final=False, max_jobs=2)
        merged.append(6 - len(store.head.compaction_due.get(0, ())))
    assert merged == [2, 4, 6]
    for i in range(6):
        s = store.head.by_id[store.series_ref(_labels(i))]
        assert len([m for m in s.c_mint if m < 2 * HOUR]) == 1
        assert _all(store)[str(i)][0] == list(range(0, 1500 * 5000, 5000))


def test_a_merge_neither_caches_its_inputs_nor_keeps_the_dead_chunks_cached(store: Store) -> None:
    store.head_chunk_samples = 10
    _fill(store, 3, 0, 1500)
    s = store.head.by_id[store.series_ref(_labels(0))]
    first = [cid for cid, m in zip(s.c_ids, s.c_mint, strict=True) if m < 2 * HOUR]
    assert len(first) > 1
    store.chunks.arrays(first[:2])  # a query read two of them: they are cached
    assert len(store.cache) == 2
    store.compact(final=False)
    assert len(store.cache) == 0  # the merged-away chunks are gone, and nothing else was put in
    assert _all(store)["0"][0] == list(range(0, 1500 * 5000, 5000))
