from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.sqlite import DB_FILE
from tests.collector.storage.test_store import FOREVER, _all, _crash, _fill, _labels


def test_wal_rows_are_trimmed_once_cut(store: Store) -> None:
    store.head_chunk_samples = 10
    _fill(store, 2, 0, 100)
    rows = store.db._w.execute("SELECT COUNT(*) FROM wal").fetchone()[0]
    assert rows <= 30  # 100 flushes happened; only the head's rows remain


def test_failed_flush_is_retried_and_loses_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import metricslib.collector.storage.flush as fl

    _fill(store, 2, 0, 3)
    app = store.appender()
    app.append(_labels(0), 100_000, 42.0)
    app.commit()
    real = fl.encode_wal
    calls = {"n": 0}

    def failing(batch: object) -> bytes:
        calls["n"] += 1
        raise OSError("disk full")

    monkeypatch.setattr(fl, "encode_wal", failing)
    with pytest.raises(OSError, match="disk full"):
        store.flush()
    monkeypatch.setattr(fl, "encode_wal", real)
    store.flush()
    # Crash now: the retried flush must have put the sample on disk.
    if store.wal is not None:
        store.wal.close()
        shutil.rmtree(store.db.dir / "wal")  # so only the flush can bring it back
    store.db.close()
    store.head.closed = True
    again = open_storage(store.db.dir, background=False, retention_ms=FOREVER)
    try:
        assert _all(again)["0"][1][-1] == 42.0
    finally:
        again.close()
    assert calls["n"] == 1


def test_close_during_a_background_cut_abandons_it_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metricslib.collector.storage.flush as fl

    store = open_storage(tmp_path, flush_interval_s=0.05, head_chunk_samples=5, retention_ms=FOREVER)
    entered = threading.Event()
    real = fl.encode_chunk

    def slow(t: object, v: object) -> bytes:
        entered.set()
        store._stop.wait(10)  # hold the cut until close() asks the thread to stop
        return real(t, v)  # type: ignore[arg-type]

    real_bulk = fl.encode_chunks

    def slow_bulk(t: object, v: object) -> list[bytes]:  # cuts with the same times are encoded together
        entered.set()
        store._stop.wait(10)
        return real_bulk(t, v)  # type: ignore[arg-type]

    monkeypatch.setattr(fl, "encode_chunk", slow)
    monkeypatch.setattr(fl, "encode_chunks", slow_bulk)
    app = store.appender()  # one commit: the first flush sees all of it and cuts every series
    for i in range(300):
        for k in range(6):
            app.append(_labels(i), 1000 + k * 5000, float(k * i))
    app.commit()
    assert entered.wait(10)
    before = _all(store)
    store.close()
    monkeypatch.setattr(fl, "encode_chunk", real)
    monkeypatch.setattr(fl, "encode_chunks", real_bulk)
    conn = sqlite3.connect(tmp_path / DB_FILE)
    try:
        # Abandoned before its transaction: neither the chunks nor the checkpoint row.
        assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM wal").fetchone()[0] == 0
    finally:
        conn.close()
    again = open_storage(tmp_path, background=False, head_chunk_samples=5, retention_ms=FOREVER)
    try:
        assert _all(again) == before
        assert again.wal_replay.samples == 1800
        again.flush()  # the cut that was abandoned happens now
        assert again.stats().chunks == 300 and _all(again) == before
    finally:
        again.close()


def test_a_flush_stopped_while_planning_leaves_the_head_as_it_was(store: Store) -> None:
    import metricslib.collector.storage.flush as fl

    _fill(store, 5000, 0, 2)  # more series than one stop check covers
    app = store.appender()
    for i in range(5000):
        app.append(_labels(i), 100_000, 1.0)
    app.commit()
    before = _all(store)
    rows = store.db._w.execute("SELECT COUNT(*) FROM wal").fetchone()[0]
    stop = threading.Event()
    stop.set()
    with pytest.raises(fl.FlushAborted):
        fl.flush(store.head, store.db, head_chunk_samples=1, wal=store.wal, stop=stop)
    assert store.db._w.execute("SELECT COUNT(*) FROM wal").fetchone()[0] == rows
    assert len(store.head.dirty) == 5000 and all(s.flushed == 2 for s in store.head.by_id.values())
    store.flush()  # the same samples go out with the next flush
    assert store.db._w.execute("SELECT COUNT(*) FROM wal").fetchone()[0] == rows + 1
    assert _all(store) == before


def test_due_cuts_are_spread_over_flushes_and_lose_nothing(tmp_path: Path) -> None:
    import metricslib.collector.storage.flush as fl

    store = open_storage(tmp_path, background=False, head_chunk_samples=10, retention_ms=FOREVER)
    _fill(store, 40, 0, 9)  # nine flushed samples each: none due yet
    app = store.appender()
    for i in range(40):
        app.append(_labels(i), 9 * 5000, 9.0 * (i + 1))
    app.commit()
    before = _all(store)
    cut = []
    for _ in range(5):  # 40 due; at most max(8, 40 // 32) = 8 a flush
        fl.flush(store.head, store.db, head_chunk_samples=10, wal=store.wal, max_cuts=8)
        cut.append(sum(1 for s in store.head.by_id.values() if s.c_ids))
    assert cut == [8, 16, 24, 32, 40]
    assert _all(store) == before
    _crash(store)  # the checkpoint kept every row a head still needed
    again = open_storage(tmp_path, background=False, head_chunk_samples=10, retention_ms=FOREVER)
    try:
        assert _all(again) == before
    finally:
        again.close()
