from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.sqlite import (
    DB_FILE,
    Database,
    decode_label_texts,
    decode_wal,
    encode_wal,
    labels_from_text,
    labels_to_text,
)
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


label_text = st.text(alphabet=st.sampled_from("ab\x00\x01\x02é\n"), max_size=5)


@given(st.lists(st.lists(st.tuples(label_text, label_text), min_size=1, max_size=4), max_size=6))
def test_label_texts_round_trip_in_bulk(sets: list[list[tuple[str, str]]]) -> None:
    labels = [tuple(pairs) for pairs in sets]
    texts = [labels_to_text(x) for x in labels]
    assert decode_label_texts(texts) == labels
    assert [labels_from_text(t) for t in texts] == labels


@given(st.lists(st.tuples(st.sampled_from("abc"), label_text), min_size=1, max_size=4, unique_by=lambda p: p[0]))
def test_the_stored_text_is_the_sort_key_when_nothing_was_escaped(pairs: list[tuple[str, str]]) -> None:
    labels = tuple(sorted(pairs))
    text = labels_to_text(labels)
    if "\x01" not in text:
        assert text == MemSeries(1, labels).sort_key()


def test_load_series_shares_equal_pairs_and_returns_sort_keys(tmp_path: Path) -> None:
    db = Database(tmp_path)
    try:
        rows = [(i, (("__name__", "up"), ("i", str(i % 2)), ("v", "x\x00y" if i == 3 else "z"))) for i in range(1, 5)]
        with db.transaction() as conn:
            Database.insert_series(conn, rows)
        sids, labels, keys = db.load_series_bulk()
        assert list(zip(sids, labels, strict=True)) == rows
        assert labels[0][0] is labels[1][0]  # one ("__name__", "up") tuple for all
        assert keys == [MemSeries(s, x).sort_key() for s, x in rows[:2]] + [None, MemSeries(4, rows[3][1]).sort_key()]
    finally:
        db.close()


def test_unreadable_labels_name_the_series(tmp_path: Path) -> None:
    db = Database(tmp_path)
    db._w.execute("INSERT INTO series(id, labels) VALUES (7, 'odd')")
    try:
        with pytest.raises(StorageCorruptionError, match="series 7 has unreadable labels"):
            db.load_series_bulk()
    finally:
        db.close()


def _as_format_1(path: Path, rows: list[tuple[int, str]]) -> None:
    """A data directory as the JSON-labels version (format 1) left it."""
    conn = sqlite3.connect(path / DB_FILE, isolation_level=None)
    conn.execute("UPDATE meta SET value='1' WHERE key='format'")
    conn.execute("DELETE FROM series")
    conn.executemany("INSERT INTO series(id, labels) VALUES (?, ?)", rows)
    conn.close()


def test_format_1_labels_are_migrated_at_open(tmp_path: Path) -> None:
    Database(tmp_path).close()
    _as_format_1(tmp_path, [(1, '[["__name__","up"],["x","é\\"\\u0000"]]'), (2, '[["__name__","b"]]')])
    db = Database(tmp_path)
    try:
        assert list(db.load_series()) == [(1, (("__name__", "up"), ("x", 'é"\x00'))), (2, (("__name__", "b"),))]
        assert db._w.execute("SELECT value FROM meta WHERE key='format'").fetchone() == ("2",)
    finally:
        db.close()


def test_a_format_1_directory_with_bad_labels_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    Database(tmp_path).close()
    _as_format_1(tmp_path, [(1, '[["__name__","up"]]'), (2, "not json")])
    with pytest.raises(StorageCorruptionError, match="series 2 has unreadable labels"):
        Database(tmp_path)
    conn = sqlite3.connect(tmp_path / DB_FILE)
    assert conn.execute("SELECT value FROM meta WHERE key='format'").fetchone() == ("1",)
    assert conn.execute("SELECT labels FROM series WHERE id=1").fetchone() == ('[["__name__","up"]]',)
    conn.close()
