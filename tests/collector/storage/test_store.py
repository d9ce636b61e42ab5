from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.sqlite import DB_FILE
from metricslib.errors import StorageCorruptionError, StorageError

HOUR = 3_600_000
FOREVER = 10**15  # these tests use timestamps near 1970


def _labels(i: int) -> tuple[tuple[str, str], ...]:
    return make_labels({"__name__": "m", "i": str(i)})


def _fill(store: Store, n_series: int, start: int, count: int, step: int = 5000) -> None:
    for k in range(count):
        app = store.appender()
        for i in range(n_series):
            app.append(_labels(i), start + k * step, float(k * (i + 1)))
        app.commit()
        if k % 25 == 0:
            store.flush()
    store.flush()


def _all(store: Store) -> dict[str, tuple[list[int], list[float]]]:
    got = store.querier().select([Matcher("__name__", "=", "m")], -(2**62), 2**62)
    return {dict(s.labels)["i"]: (s.timestamps.tolist(), s.values.tolist()) for s in got}


def _crash(store: Store) -> None:
    """Drop the store as a kill would: no flush, no close, only the descriptors go."""
    if store.wal is not None:
        os.close(store.wal._fd)
    store.db.close()
    store.head.closed = True


def test_flushed_samples_survive_reopen_without_close(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER, wal=False)
    _fill(store, 3, 1000, 50)
    before = _all(store)
    _crash(store)
    again = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    try:
        assert _all(again) == before
        assert again.stats().head_samples > 0  # some came back from the WAL table
    finally:
        again.close()


def test_without_the_log_unflushed_samples_are_lost_on_crash_but_nothing_else(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER, wal=False)
    _fill(store, 2, 1000, 10)
    app = store.appender()
    app.append(_labels(0), 10**6, 1.0)
    app.commit()
    _crash(store)
    again = open_storage(tmp_path, background=False, retention_ms=FOREVER, wal=False)
    try:
        ts, _ = _all(again)["0"]
        assert ts[-1] < 10**6 and len(ts) == 10
    finally:
        again.close()


def test_with_the_log_every_committed_sample_survives_a_crash(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    _fill(store, 2, 1000, 10)
    app = store.appender()
    app.append(_labels(0), 10**6, 1.0)
    app.append(_labels(7), 10**6, 7.0)  # a series the database has never seen
    app.commit()
    app = store.appender()
    app.append(_labels(1), 10**6 + 1, 2.0)
    app.rollback()  # never committed: must not come back
    before = _all(store)
    _crash(store)
    again = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    try:
        assert _all(again) == before
        assert again.wal_replay.samples == 2
    finally:
        again.close()


def test_close_leaves_the_head_to_the_log_and_reopen_rebuilds_it(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, head_chunk_samples=20, retention_ms=FOREVER)
    start = 10 * HOUR
    _fill(store, 4, start, 2000)  # 10000 s: windows [10h,12h) and [12h,14h)
    for k in range(2000, 2011):
        app = store.appender()
        for i in range(4):
            app.append(_labels(i), start + k * 5000, -1.0)
        app.commit()
        if k == 2009:
            store.flush()  # ten samples a series in the checkpoint, one only in the log
    before = _all(store)
    chunks_before = store.stats().chunks
    in_head = store.stats().head_samples
    assert in_head == 44
    store.close()
    conn = sqlite3.connect(tmp_path / DB_FILE)
    try:
        # Nothing was cut or merged on the way out.
        assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == chunks_before
    finally:
        conn.close()
    again = open_storage(tmp_path, background=False, head_chunk_samples=20, retention_ms=FOREVER)
    try:
        assert _all(again) == before
        st = again.stats()
        assert (st.samples, st.head_samples, st.chunks) == (8044, in_head, chunks_before)
        assert again.wal_replay.samples == 4  # the rest came from the checkpoint
        # The next flush takes over as usual: cut, then merged once the window is done.
        again.flush(cut_all=True)
        again.compact(final=True)
        assert _all(again) == before
    finally:
        again.close()
    conn = sqlite3.connect(tmp_path / DB_FILE)
    try:
        per_series = conn.execute("SELECT series_id, COUNT(*) FROM chunks GROUP BY series_id").fetchall()
        assert {n for _, n in per_series} == {2}
    finally:
        conn.close()


def test_second_store_on_same_directory_is_refused(store: Store) -> None:
    with pytest.raises(StorageError, match="in use by another process"):
        open_storage(store.db.dir, background=False)


def test_stats(store: Store) -> None:
    _fill(store, 3, 0, 10)
    st = store.stats()
    assert (st.series, st.samples) == (3, 30)
    assert st.bytes_on_disk > 0


def test_garbage_file_is_reported_as_corruption(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageCorruptionError, match=DB_FILE):
        open_storage(tmp_path, background=False, retention_ms=FOREVER)


def test_damaged_chunk_is_reported_on_read(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    _fill(store, 1, 0, 30)
    store.flush(cut_all=True)
    store.close()
    conn = sqlite3.connect(tmp_path / DB_FILE)
    conn.execute("UPDATE chunk_data SET data = x'01020304'")
    conn.commit()
    conn.close()
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    try:
        with pytest.raises(StorageCorruptionError):
            store.querier().select([], 0, 10**9)
    finally:
        store.close()


def test_background_thread_flushes(tmp_path: Path) -> None:
    store = open_storage(tmp_path, flush_interval_s=0.05)
    try:
        app = store.appender()
        app.append(_labels(0), 1, 1.0)
        app.commit()
        for _ in range(200):
            if store.db._w.execute("SELECT COUNT(*) FROM wal").fetchone()[0]:
                break
            threading.Event().wait(0.02)
        assert store.db._w.execute("SELECT COUNT(*) FROM wal").fetchone()[0] == 1
    finally:
        store.close()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retention_ms"):
        open_storage(tmp_path, retention_ms=0)
    with pytest.raises(ValueError, match="flush_interval_s"):
        open_storage(tmp_path, flush_interval_s=-1)



def test_checkpoint_rows_load_with_the_row_by_row_rule(tmp_path: Path) -> None:
    """Rows regrouped by series still keep only samples newer than all before them."""
    import numpy as np

    from metricslib.collector.storage.sqlite import Database, encode_wal

    store = open_storage(tmp_path, background=False, retention_ms=FOREVER, wal=False)
    app = store.appender()
    a = app.append(_labels(0), 1000, 1.0)
    b = app.append(_labels(1), 1000, 1.0)
    for t in range(6000, 50_001, 5000):
        app.append_ref(b, t, 1.0)
    app.commit()
    store.flush(cut_all=True)  # chunks: a up to 1000, b up to 46000
    store.close()
    rows = [
        (99, [b], [1], [40_000], [-1.0]),  # all in b's chunks already: b's head starts at row 100
        (100, [a, b], [2, 2], [10_000, 20_000, 5_000, 60_000], [2.0, 3.0, -1.0, 6.0]),
        (101, [a, b], [2, 1], [15_000, 30_000, 70_000], [-1.0, 4.0, 7.0]),
        (102, [b], [3], [80_000, 75_000, 78_000], [8.0, -1.0, -1.0]),
    ]
    db = Database(tmp_path)
    try:
        with db.transaction() as conn:
            for seq, sids, counts, ts, vs in rows:
                batch = (np.array(sids, dtype=np.int64), np.array(counts, dtype=np.int64),
                         np.array(ts, dtype=np.int64), np.array(vs, dtype=np.float64))
                conn.execute("INSERT INTO wal(seq, data) VALUES (?, ?)", (seq, encode_wal(batch)))
    finally:
        db.close()
    again = open_storage(tmp_path, background=False, retention_ms=FOREVER, wal=False)
    try:
        got = _all(again)
        assert got["0"] == ([1000, 10_000, 20_000, 30_000], [1.0, 2.0, 3.0, 4.0])
        assert got["1"][0][-4:] == [46_000, 60_000, 70_000, 80_000]
        assert got["1"][1][-3:] == [6.0, 7.0, 8.0] and -1.0 not in got["1"][1]
        head = again.head
        assert (head.by_id[a].head_seq, head.by_id[b].head_seq, head.wal_seq) == (100, 100, 102)
        assert (head.by_id[a].last_t, head.by_id[a].last_v) == (30_000, 4.0)
        assert head.max_t == 80_000
    finally:
        again.close()


def test_a_data_directory_of_format_1_opens_with_everything_in_it(tmp_path: Path) -> None:
    store = open_storage(tmp_path, retention_ms=FOREVER, background=False)
    _fill(store, 3, 1000, 300)  # chunks, checkpoint rows and the log's tail
    app = store.appender()
    app.append(_labels(0), 1000 + 300 * 5000, 7.0)
    app.commit()
    before = _all(store)
    store.close()
    # Rewrite the labels as the JSON of format 1, as the previous version left them.
    conn = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    rows = conn.execute("SELECT id, labels FROM series").fetchall()
    conn.executemany("UPDATE series SET labels=? WHERE id=?",
                     [(json.dumps([t.split("\x00")[k:k + 2] for k in range(0, t.count("\x00") + 1, 2)]), sid)
                      for sid, t in rows])
    conn.execute("UPDATE meta SET value='1' WHERE key='format'")
    conn.close()
    again = open_storage(tmp_path, retention_ms=FOREVER, background=False)
    try:
        assert _all(again) == before
        app = again.appender()
        app.append(_labels(5), 10**7, 1.0)
        app.commit()
        again.flush()
    finally:
        again.close()
    last = open_storage(tmp_path, retention_ms=FOREVER, background=False)
    try:
        assert _all(last) == {**before, "5": ([10**7], [1.0])}
        assert last.querier().label_values("i") == ["0", "1", "2", "5"]
    finally:
        last.close()
