"""The write-ahead log: record round trips, damaged tails, rotation and checkpoints."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import make_labels
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.wal import (
    WAL_DIR,
    ColumnRecord,
    SamplesRecord,
    SeriesRecord,
    WriteAheadLog,
    list_segments,
    read_segments,
)
from metricslib.errors import StorageError

FOREVER = 10**15
i64 = st.integers(-(2**63), 2**63 - 1)
f64 = st.floats(allow_nan=True, allow_infinity=True)


def _labels(i: int) -> tuple[tuple[str, str], ...]:
    return make_labels({"__name__": "m", "i": str(i)})


def _records(data_dir: Path) -> list[object]:
    return [r for _, r in read_segments(data_dir / WAL_DIR)]


def _bits(values: object) -> list[bytes]:
    return [np.float64(v).tobytes() for v in np.asarray(values, dtype=np.float64)]


@given(
    refs=st.lists(i64, max_size=20),
    data=st.data(),
    labels=st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=4),
)
def test_records_round_trip_bit_for_bit(tmp_path_factory: pytest.TempPathFactory, refs: list[int],
                                        data: st.DataObject, labels: list[tuple[str, str]]) -> None:
    d = tmp_path_factory.mktemp("wal")
    ts = data.draw(st.lists(i64, min_size=len(refs), max_size=len(refs)))
    vs = data.draw(st.lists(f64, min_size=len(refs), max_size=len(refs)))
    wal = WriteAheadLog(d)
    wal.log_series(7, tuple(labels))
    wal.log_samples(refs, ts, vs)
    wal.log_samples(refs, [123] * len(refs), vs)
    wal.close()
    got = _records(d)
    assert got[0] == SeriesRecord(7, tuple(labels))
    first, second = got[1], got[2]
    if len(set(ts)) > 1:
        assert isinstance(first, SamplesRecord)
        assert first.ts.tolist() == ts
    assert first.refs.tolist() == refs and _bits(first.vs) == _bits(vs)
    if refs:  # one timestamp for the whole batch: the compact column record
        assert isinstance(second, ColumnRecord) and second.t == 123
    assert second.refs.tolist() == refs and _bits(second.vs) == _bits(vs)


def _store(path: Path) -> Store:
    return open_storage(path, background=False, retention_ms=FOREVER)


def _crash(store: Store) -> None:
    assert store.wal is not None
    os.close(store.wal._fd)
    store.db.close()
    store.head.closed = True


def _commit(store: Store, t: int, series: range) -> None:
    app = store.appender()
    for i in series:
        app.append(_labels(i), t, float(t))
    app.commit()


def _times(store: Store, i: int) -> list[int]:
    from metricslib.collector.model import Matcher

    got = store.querier().select([Matcher("i", "=", str(i))], -(2**62), 2**62)
    return got[0].timestamps.tolist() if got else []


def test_a_commit_is_in_the_log_before_it_is_visible(tmp_path: Path) -> None:
    store = _store(tmp_path)
    seen: list[int] = []
    assert store.wal is not None
    real = store.wal.log_samples

    def spy(refs: list[int], ts: list[int], vs: list[float]) -> None:
        real(refs, ts, vs)
        # What a query would see right after the write (the head lock is held now).
        seen.append(len(store.head.by_labels[_labels(0)].ts))
        seen.append(sum(1 for r in _records(tmp_path) if isinstance(r, ColumnRecord)))

    store.wal.log_samples = spy  # type: ignore[method-assign]
    _commit(store, 1000, range(1))
    assert seen == [0, 1]  # on disk, not yet visible
    store.close()


def test_a_failed_log_write_fails_the_commit_and_leaves_no_trace(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _commit(store, 1000, range(2))
    assert store.wal is not None
    size = os.path.getsize(tmp_path / WAL_DIR / f"{store.wal.segment:08d}")
    real_write = os.write
    calls = {"n": 0}

    def half_then_fail(fd: int, data: object) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, memoryview(data)[:10])  # type: ignore[arg-type]
        raise OSError(28, "No space left on device")

    os.write = half_then_fail  # type: ignore[assignment]
    try:
        with pytest.raises(StorageError, match="cannot write the WAL"):
            _commit(store, 2000, range(2))
    finally:
        os.write = real_write
    assert os.path.getsize(tmp_path / WAL_DIR / f"{store.wal.segment:08d}") == size
    assert _times(store, 0) == [1000]  # the batch never became visible
    assert store.wal.writes_failed == 1
    _commit(store, 3000, range(2))
    _crash(store)
    again = _store(tmp_path)
    try:
        assert _times(again, 0) == [1000, 3000] and _times(again, 1) == [1000, 3000]
    finally:
        again.close()


def test_segments_rotate_with_each_flush_and_go_once_it_is_on_disk(tmp_path: Path) -> None:
    store = _store(tmp_path)
    wal_dir = tmp_path / WAL_DIR
    _commit(store, 1000, range(3))
    first = list_segments(wal_dir)
    assert len(first) == 1
    store.flush()
    after = list_segments(wal_dir)
    assert after == [first[0] + 1]  # the flushed segment is gone, a fresh one is open
    _commit(store, 2000, range(3))
    _commit(store, 3000, range(3))
    store.flush()
    assert list_segments(wal_dir) == [first[0] + 2]
    store.close()


def test_a_failed_flush_keeps_the_segments_it_did_not_cover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from metricslib.collector.storage import flush as fl

    store = _store(tmp_path)
    _commit(store, 1000, range(2))

    def failing(batch: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(fl, "encode_wal", failing)
    with pytest.raises(OSError):
        store.flush()
    monkeypatch.undo()
    assert len(list_segments(tmp_path / WAL_DIR)) == 2  # the old one was not dropped
    _crash(store)
    again = _store(tmp_path)
    try:
        assert _times(again, 0) == [1000] and _times(again, 1) == [1000]
    finally:
        again.close()


def test_a_series_with_no_flushed_sample_is_named_again_in_each_new_segment(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _commit(store, 1000, range(1))
    ref = store.series_ref(_labels(5))  # created, no sample yet
    store.flush()  # drops the segment that named it
    store.flush()
    app = store.appender()
    app.append_ref(ref, 2000, 5.0)
    app.commit()
    _crash(store)
    again = _store(tmp_path)
    try:
        assert _times(again, 5) == [2000]
        assert again.wal_replay.unknown_series_samples == 0
    finally:
        again.close()


def test_a_torn_tail_is_truncated_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = _store(tmp_path)
    for t in (1000, 2000, 3000):
        _commit(store, t, range(2))
    assert store.wal is not None
    path = tmp_path / WAL_DIR / f"{store.wal.segment:08d}"
    _crash(store)
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # the last commit's record lost its end
    with caplog.at_level(logging.WARNING):
        again = _store(tmp_path)
    try:
        assert _times(again, 0) == [1000, 2000]
        assert any("torn record" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
        assert path.stat().st_size < len(data) - 5  # cut back to the last whole record
        assert again.wal_replay.corruptions == 1
    finally:
        again.close()


def test_a_corrupt_record_ends_the_log_and_later_segments_go(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = _store(tmp_path)
    _commit(store, 1000, range(2))
    assert store.wal is not None
    bad = tmp_path / WAL_DIR / f"{store.wal.segment:08d}"
    store.wal.rotate(())  # a new segment without a checkpoint, as a size cut makes
    _commit(store, 2000, range(2))
    later = tmp_path / WAL_DIR / f"{store.wal.segment:08d}"
    _crash(store)
    data = bytearray(bad.read_bytes())
    data[-3] ^= 0xFF  # flip bits in the last record's values
    bad.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        again = _store(tmp_path)
    try:
        assert _times(again, 0) == []  # the damaged commit and everything after it
        assert later.stat().st_size == 0  # deleted; the new writer starts afresh under its number
        message = " ".join(r.getMessage() for r in caplog.records)
        assert "checksum mismatch" in message and "deleting 1 later segment" in message
    finally:
        again.close()


def test_garbage_in_the_log_never_stops_the_store_from_opening(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _commit(store, 1000, range(2))
    store.flush()
    _commit(store, 2000, range(2))
    _crash(store)
    wal_dir = tmp_path / WAL_DIR
    (wal_dir / f"{list_segments(wal_dir)[-1] + 1:08d}").write_bytes(os.urandom(1000))
    again = _store(tmp_path)
    try:
        assert _times(again, 0) == [1000, 2000]
    finally:
        again.close()


def test_replay_reports_its_progress_in_prometheus_shape(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _commit(store, 1000, range(3))
    assert store.wal is not None
    store.wal.rotate(())
    _commit(store, 2000, range(3))
    _crash(store)
    again = _store(tmp_path)
    try:
        first, last = list_segments(tmp_path / WAL_DIR)[:2]
        assert again.wal_replay.as_api() == {"min": first, "max": last, "current": last}
        assert again.wal_replay.samples == 6 and again.wal_replay.series == 3
    finally:
        again.close()


def test_samples_already_in_the_checkpoint_are_not_replayed_twice(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _commit(store, 1000, range(2))
    assert store.wal is not None
    segment = store.wal.segment
    kept = (tmp_path / WAL_DIR / f"{segment:08d}").read_bytes()
    store.flush()  # deletes that segment; put it back, as a kill before the unlink would leave it
    (tmp_path / WAL_DIR / f"{segment:08d}").write_bytes(kept)
    _commit(store, 2000, range(2))
    _crash(store)
    again = _store(tmp_path)
    try:
        assert _times(again, 0) == [1000, 2000] and _times(again, 1) == [1000, 2000]
        assert again.out_of_order_dropped == 0
    finally:
        again.close()


@given(cut=st.integers(0, 10**6), flip=st.one_of(st.none(), st.integers(0, 10**6)))
def test_any_damage_leaves_a_prefix_of_the_records_and_never_raises(
        tmp_path_factory: pytest.TempPathFactory, cut: int, flip: int | None) -> None:
    d = tmp_path_factory.mktemp("wal")
    wal = WriteAheadLog(d)
    written: list[list[int]] = []
    for k in range(6):
        refs = list(range(k, k + 5 + k))
        wal.log_samples(refs, [k] * len(refs) if k % 2 else list(range(len(refs))), [float(k)] * len(refs))
        written.append(refs)
    wal.close()
    path = d / WAL_DIR / f"{wal.segment:08d}"
    data = bytearray(path.read_bytes())
    data = data[: cut % (len(data) + 1)]
    if flip is not None and data:
        data[flip % len(data)] ^= 0x5A
    path.write_bytes(bytes(data))
    got = [r.refs.tolist() for r in _records(d) if isinstance(r, SamplesRecord | ColumnRecord)]
    assert got == written[: len(got)]
    assert len(_records(d)) == len(got)  # the repaired file reads whole the next time


def test_a_segment_is_also_cut_at_its_size_limit_and_replay_crosses_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_max_bytes=200)
    for k in range(10):
        wal.log_samples([1, 2, 3, 4, 5], [k] * 5, [float(k)] * 5)  # ~60 bytes a record
    wal.close()
    segments = list_segments(tmp_path / WAL_DIR)
    assert len(segments) >= 3
    assert [r.t for _, r in read_segments(tmp_path / WAL_DIR) if isinstance(r, ColumnRecord)] == list(range(10))
