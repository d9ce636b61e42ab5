from __future__ import annotations

import random
from pathlib import Path

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries

HOUR = 3_600_000
DAY = 24 * HOUR


def test_retention_drops_old_chunks_and_empty_series_and_shrinks_the_file(tmp_path: Path) -> None:
    now = 100 * DAY
    store = open_storage(tmp_path, background=False, retention_ms=2 * DAY, retention_check_s=1e9)
    try:
        store.apply_retention(now)  # nothing to do on an empty store
        old = make_labels({"__name__": "old"})
        kept = make_labels({"__name__": "kept"})
        rng = random.Random(1)
        # 5 days of one sample a minute for "old"; "kept" has the last day only.
        for t in range(now - 5 * DAY, now, 60_000):
            app = store.appender()
            app.append(old, t, rng.random())  # incompressible: the file has real size
            if t >= now - DAY:
                app.append(kept, t, 1.0)
            app.commit()
        store.flush(cut_all=True)
        store.compact(final=True)
        store.db.shrink()
        size_before = store.stats().bytes_on_disk
        samples_before = store.stats().samples

        deleted = store.apply_retention(now + 10 * DAY)
        # Everything is older than 2 days now: both series disappear.
        assert deleted > 0
        assert store.stats().series == 0
        assert store.querier().label_values("__name__") == []
        assert size_before > 50_000
        assert store.stats().bytes_on_disk < size_before / 2
        assert samples_before > 0
    finally:
        store.close()


def test_retention_keeps_recent_data_and_straddling_chunks(tmp_path: Path) -> None:
    now = 100 * DAY
    store = open_storage(tmp_path, background=False, retention_ms=DAY)
    try:
        lab = make_labels({"__name__": "m"})
        for t in range(now - 3 * DAY, now, 300_000):
            app = store.appender()
            app.append(lab, t, 1.0)
            app.commit()
        store.flush(cut_all=True)
        store.compact(final=True)
        store.apply_retention(now)
        got = store.querier().select([Matcher("__name__", "=", "m")], 0, now)[0]
        # Chunks are 2 h windows: nothing older than one window before the cutoff.
        assert got.timestamps[0] >= now - DAY - 2 * HOUR
        assert got.timestamps[-1] == now - 300_000
        # Retention also runs when the store opens.
        store.close()
        store = open_storage(tmp_path, background=False, retention_ms=HOUR)
        assert store.stats().series == 0  # wall clock is decades past "now"
    finally:
        store.close()


class _Journal:
    def __init__(self) -> None:
        self.logged: list[int] = []
        self.forgotten: list[int] = []

    def log_series(self, ref: int, labels: object) -> None:
        self.logged.append(ref)

    def log_samples(self, refs: list[int], ts: list[int], vs: list[float]) -> None:
        raise AssertionError("no samples are logged here")

    def forget(self, ref: int) -> None:
        self.forgotten.append(ref)


def test_a_deleted_series_refilled_meanwhile_stays_and_the_log_names_it_again() -> None:
    # Time retention, size retention and delete_series all end in Head.forget_deleted.
    head = Head(2 * HOUR, where="test")
    journal = _Journal()
    head.journal = journal
    empty, refilled = MemSeries(1, make_labels({"__name__": "a"})), MemSeries(2, make_labels({"__name__": "b"}))
    for s in (empty, refilled):
        head.register(s)
        s.persisted = True
    refilled.ts.append(5)
    refilled.vs.append(1.0)
    with head.lock:
        head.forget_deleted([empty, refilled])
    assert list(head.by_id) == [2] and journal.forgotten == [1]
    assert refilled.persisted is False and journal.logged == [2]
