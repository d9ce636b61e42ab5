from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metricslib.collector.storage.sqlite import Database, decode_wal, encode_wal
from metricslib.errors import StorageCorruptionError, StorageError


def test_wal_record_roundtrip() -> None:
    batch = (
        np.array([3, 7], dtype=np.int64),
        np.array([2, 1], dtype=np.int64),
        np.array([10, 20, 30], dtype=np.int64),
        np.array([1.5, float("nan"), -0.0]),
    )
    got = decode_wal(encode_wal(batch))
    for a, b in zip(batch, got, strict=True):
        assert np.array_equal(a.view(np.uint64) if a.dtype == np.float64 else a,
                              b.view(np.uint64) if b.dtype == np.float64 else b)


def test_damaged_wal_record_is_corruption() -> None:
    with pytest.raises(StorageCorruptionError):
        decode_wal(b"not zlib")
    import zlib

    with pytest.raises(StorageCorruptionError, match="expected size"):
        decode_wal(zlib.compress(b"\x01\x00\x00\x00\x05\x00\x00\x00"))


def test_schema_wal_mode_and_lock(tmp_path: Path) -> None:
    db = Database(tmp_path)
    try:
        assert db._w.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db._w.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert db.integrity_ok()
        with pytest.raises(StorageError, match=f"pid {__import__('os').getpid()}"):
            Database(tmp_path)
        with db.transaction() as conn:
            Database.insert_series(conn, [(1, (("__name__", "a"), ("x", "é\"\n")))])
            cid = Database.insert_chunk(conn, 1, 5, 9, 2, b"blob")
        assert list(db.load_series()) == [(1, (("__name__", "a"), ("x", "é\"\n")))]
        assert db.load_chunk_meta() == [(cid, 1, 5, 9, 2)]
        assert db.fetch_chunks([cid, 999]) == {cid: b"blob"}
    finally:
        db.close()
    Database(tmp_path).close()  # the lock is released on close


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    db = Database(tmp_path)
    try:
        with pytest.raises(RuntimeError), db.transaction() as conn:
            Database.insert_series(conn, [(1, (("__name__", "a"),))])
            raise RuntimeError("boom")
        assert list(db.load_series()) == []
    finally:
        db.close()


def test_newer_format_is_refused(tmp_path: Path) -> None:
    db = Database(tmp_path)
    db._w.execute("UPDATE meta SET value='99' WHERE key='format'")
    db.close()
    with pytest.raises(StorageCorruptionError, match="format 99"):
        Database(tmp_path)
