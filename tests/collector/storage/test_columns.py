"""Column commits (``ColumnRefs`` + ``append_column``): the head's bulk append
stores exactly what sample-by-sample appends store, and falls back to them
whenever a sample is not plainly newer or a series went away."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import STALE_NAN, Matcher
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.columns import ColumnRefs
from metricslib.errors import OutOfOrderSampleError

FOREVER = 10**15
LABELS = [(("__name__", "m"), ("i", str(i))) for i in range(4)]


def _open(path: Path) -> Store:
    return open_storage(path, background=False, retention_ms=FOREVER)


def _dump(store: Store) -> dict[tuple[tuple[str, str], ...], list[tuple[int, bytes]]]:
    return {
        s.labels: [(int(t), struct.pack("<d", v)) for t, v in zip(s.timestamps, s.values, strict=True)]
        for s in store.querier().select([Matcher("__name__", "=~", ".+")], 0, 2**62)
    }


def _per_sample(store: Store, refs: list[int], t: int, values: list[float]) -> None:
    app = store.appender()
    for ref, v in zip(refs, values, strict=True):
        try:
            app.append_ref(ref, t, v)
        except OutOfOrderSampleError:
            pass
    app.commit()


def test_a_column_commit_stores_what_sample_by_sample_stores(tmp_path: Path) -> None:
    bulk = _open(tmp_path / "bulk")
    each = _open(tmp_path / "each")
    refs = ColumnRefs([bulk.series_ref(lab) for lab in LABELS])
    plain = [each.series_ref(lab) for lab in LABELS]
    for k in range(5):
        values = [float(k), -0.0, STALE_NAN if k == 3 else 1.5, float("nan")]
        app = bulk.appender()
        app.append_column(refs, 1000 * (k + 1), values)
        app.append(LABELS[0], 1000 * (k + 1) + 1, 99.0)  # another record in the same commit
        app.commit()
        assert app.refused == []
        _per_sample(each, plain, 1000 * (k + 1), values)
        app = each.appender()
        app.append(LABELS[0], 1000 * (k + 1) + 1, 99.0)
        app.commit()
    assert refs.generation == bulk.head.generation  # resolved once, kept
    assert _dump(bulk) == _dump(each)
    assert bulk.head.samples_appended == each.head.samples_appended == 25
    bulk.close()
    each.close()


def test_a_sample_not_newer_sends_the_column_sample_by_sample(tmp_path: Path) -> None:
    store = _open(tmp_path)
    refs = ColumnRefs([store.series_ref(lab) for lab in LABELS])
    app = store.appender()
    app.append_column(refs, 1000, [1.0, 2.0, 3.0, 4.0])
    app.commit()
    app = store.appender()
    app.append_ref(refs[1], 2000, 9.0)  # a newer sample from another writer
    app.commit()
    app = store.appender()
    app.append_column(refs, 2000, [1.0, 2.0, 3.0, 4.0])
    app.commit()
    assert app.refused == [refs[1]]  # only that one
    got = {s.labels[1][1]: list(s.values) for s in store.querier().select([Matcher("__name__", "=", "m")], 0, 10**6)}
    assert got == {"0": [1.0, 1.0], "1": [2.0, 9.0], "2": [3.0, 3.0], "3": [4.0, 4.0]}
    assert store.head.out_of_order_dropped == 1
    # The same time and value again is a duplicate, not a refusal.
    app = store.appender()
    app.append_column(refs, 2000, [1.0, 9.0, 3.0, 4.0])
    app.commit()
    assert app.refused == []
    store.close()


def test_a_deleted_series_is_noticed_through_the_generation(tmp_path: Path) -> None:
    store = _open(tmp_path)
    refs = ColumnRefs([store.series_ref(lab) for lab in LABELS])
    app = store.appender()
    app.append_column(refs, 1000, [1.0] * 4)
    app.commit()
    with store.head.lock:
        store.head.unregister(store.head.by_id[refs[2]])
    app = store.appender()
    app.append_column(refs, 2000, [2.0] * 4)
    app.commit()
    assert app.refused == [refs[2]]
    assert sorted(s.labels[1][1] for s in store.querier().select([Matcher("__name__", "=", "m")], 1500, 10**6)) \
        == ["0", "1", "3"]
    store.close()


def test_duplicate_refs_in_a_column_are_checked_one_by_one(tmp_path: Path) -> None:
    store = _open(tmp_path)
    ref = store.series_ref(LABELS[0])
    app = store.appender()
    app.append_column(ColumnRefs([ref, ref]), 1000, [1.0, 2.0])
    app.commit()
    assert app.refused == [ref]  # the second sample at the same time, another value
    (s,) = store.querier().select([Matcher("__name__", "=", "m")], 0, 10**6)
    assert list(s.values) == [1.0]
    store.close()


def test_a_column_commit_is_replayed_from_the_log(tmp_path: Path) -> None:
    store = _open(tmp_path)
    refs = ColumnRefs([store.series_ref(lab) for lab in LABELS])
    for k in range(3):
        app = store.appender()
        app.append_column(refs, 1000 * (k + 1), [float(k)] * 4)
        app.append((("__name__", "up"),), 1000 * (k + 1), 1.0)
        app.commit()
    before = _dump(store)
    assert store.wal is not None
    # As a kill leaves it: the log only, no flush, no close.
    os.close(store.wal._fd)
    store.db.close()
    store.head.closed = True
    again = _open(tmp_path)
    assert _dump(again) == before
    again.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=4, max_size=4),
                          st.booleans()), min_size=1, max_size=6))
def test_any_sequence_of_columns_and_other_writes_matches_sample_by_sample(
    tmp_path_factory: object, steps: list[tuple[int, list[float], bool]]
) -> None:
    tmp = tmp_path_factory.mktemp("cols")  # type: ignore[attr-defined]
    bulk = _open(tmp / "bulk")
    each = _open(tmp / "each")
    refs = ColumnRefs([bulk.series_ref(lab) for lab in LABELS])
    plain = [each.series_ref(lab) for lab in LABELS]
    for n, (dt, values, meddle) in enumerate(steps):
        t = 1000 * n + dt * 400  # times may repeat or go back
        if meddle:  # another writer's sample in series 0, a bit later
            for store, r in ((bulk, refs[0]), (each, plain[0])):
                app = store.appender()
                try:
                    app.append_ref(r, t + 200, 7.0)
                except OutOfOrderSampleError:
                    pass
                app.commit()
        app = bulk.appender()
        app.append_column(refs, t, values)
        app.commit()
        _per_sample(each, plain, t, values)
    assert _dump(bulk) == _dump(each)
    bulk.close()
    each.close()
