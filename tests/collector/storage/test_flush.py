from __future__ import annotations

import shutil

import pytest

from metricslib.collector.storage import Store, open_storage
from tests.collector.storage.test_store import FOREVER, _all, _fill, _labels


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
