"""Admin operations on a real store: deletion by matchers and range, snapshots, size retention."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.admin import SNAPSHOT_DIR

pytestmark = pytest.mark.filterwarnings("error")


def eq(name: str, value: str) -> Matcher:
    return Matcher(name, "=", value)


def fill(store: Store, job: str, n: int = 10, step: int = 1000, first: int = 0) -> None:
    app = store.appender()
    for i in range(first, n):
        app.append(make_labels({"__name__": "m", "job": job}), i * step, float(i))
    app.commit()


def samples(store: Store, job: str) -> list[int]:
    found = store.querier().select([eq("job", job)], 0, 10**12)
    return [int(t) for s in found for t in s.timestamps] if found else []


def test_delete_series_removes_the_range_only_from_the_matching_series(store: Store) -> None:
    fill(store, "a")
    fill(store, "b")
    store.flush(cut_all=True)  # some samples in chunks ...
    fill(store, "a", n=12, first=10)  # ... and two newer ones in the head
    assert store.delete_series([[eq("job", "a")]], 3000, 10_000) == 1
    assert samples(store, "a") == [0, 1000, 2000, 11_000]
    assert samples(store, "b") == list(range(0, 10_000, 1000))


def test_deleting_everything_forgets_the_series_and_survives_a_restart(tmp_path: Path) -> None:
    store = open_storage(tmp_path / "d", background=False, retention_ms=10**15)
    fill(store, "a")
    fill(store, "b")
    store.delete_series([[eq("job", "a")]], -(2**62), 2**62)
    assert samples(store, "a") == []
    assert store.querier().label_values("job") == ["b"]
    store.close()
    reopened = open_storage(tmp_path / "d", background=False, retention_ms=10**15)
    try:
        assert samples(reopened, "a") == []
        assert samples(reopened, "b") == list(range(0, 10_000, 1000))
        # The series can come back: new samples are accepted.
        fill(reopened, "a", n=1)
        assert samples(reopened, "a") == [0]
    finally:
        reopened.close()


def test_snapshot_is_a_store_another_process_can_open(tmp_path: Path) -> None:
    store = open_storage(tmp_path / "d", background=False, retention_ms=10**15)
    try:
        fill(store, "a")
        store.flush(cut_all=True)
        fill(store, "a", n=12, first=10)  # the last two only in the head (not flushed)
        name = store.snapshot()
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{16}", name)
        head_less = store.snapshot(skip_head=True)
    finally:
        store.close()
    copy = open_storage(tmp_path / "d" / SNAPSHOT_DIR / name, background=False, retention_ms=10**15)
    try:
        assert samples(copy, "a") == list(range(0, 12_000, 1000))
    finally:
        copy.close()
    without_head = open_storage(tmp_path / "d" / SNAPSHOT_DIR / head_less, background=False, retention_ms=10**15)
    try:
        assert samples(without_head, "a") == list(range(0, 10_000, 1000))
    finally:
        without_head.close()


def test_size_retention_drops_the_oldest_chunks_first(tmp_path: Path) -> None:
    store = open_storage(tmp_path / "d", background=False, retention_ms=10**15, chunk_range_ms=10_000)
    try:
        app = store.appender()
        for i in range(100):
            app.append(make_labels({"__name__": "m", "job": "a"}), i * 1000, float(i * 7919 % 101))
        app.commit()
        store.flush(cut_all=True)
        store.compact(final=True)
        sizes = store.db.chunk_sizes_oldest_first()
        assert len(sizes) == 10
        store.retention_bytes = sum(size for _, _, size in sizes[5:])
        assert store.apply_retention(now_ms=100_000) == 5
        assert samples(store, "a") == list(range(50_000, 100_000, 1000))
    finally:
        store.close()
