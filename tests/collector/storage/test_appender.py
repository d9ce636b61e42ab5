from __future__ import annotations

import pytest

from metricslib.collector.model import STALE_NAN, Matcher
from metricslib.collector.storage import Store
from metricslib.errors import OutOfOrderSampleError, StorageError

UP = (("__name__", "up"), ("job", "api"))
ALL = [Matcher("__name__", "=", "up")]


def _values(store: Store) -> list[float]:
    got = store.querier().select(ALL, 0, 10**12)
    return got[0].values.tolist() if got else []


def test_samples_are_invisible_until_commit(store: Store) -> None:
    app = store.appender()
    app.append(UP, 1000, 1.0)
    assert _values(store) == []
    app.commit()
    assert _values(store) == [1.0]


def test_rollback_drops_the_batch(store: Store) -> None:
    app = store.appender()
    app.append(UP, 1000, 1.0)
    app.rollback()
    app.commit()
    assert _values(store) == []
    assert store.stats().samples == 0


def test_older_sample_raises_and_the_rest_of_the_batch_survives(store: Store) -> None:
    app = store.appender()
    app.append(UP, 2000, 2.0)
    app.commit()
    app = store.appender()
    with pytest.raises(OutOfOrderSampleError, match=r'job="api".*1000 ms is older than.*2000 ms'):
        app.append(UP, 1000, 1.0)
    app.append(UP, 3000, 3.0)
    app.commit()
    assert _values(store) == [2.0, 3.0]


def test_out_of_order_within_one_batch_is_caught(store: Store) -> None:
    app = store.appender()
    app.append(UP, 2000, 2.0)
    with pytest.raises(OutOfOrderSampleError):
        app.append(UP, 1000, 1.0)


def test_duplicates_same_value_silent_other_value_raises(store: Store) -> None:
    app = store.appender()
    app.append(UP, 1000, 1.0)
    app.append(UP, 1000, 1.0)  # silent
    app.commit()
    app = store.appender()
    app.append(UP, 1000, 1.0)  # silent against the committed sample too
    with pytest.raises(OutOfOrderSampleError, match=r"already holds 1\.0"):
        app.append(UP, 1000, 5.0)
    app.commit()
    assert _values(store) == [1.0]


def test_staleness_marker_duplicate_compares_bits(store: Store) -> None:
    app = store.appender()
    app.append(UP, 1000, STALE_NAN)
    app.commit()
    app = store.appender()
    app.append(UP, 1000, STALE_NAN)
    with pytest.raises(OutOfOrderSampleError):
        app.append(UP, 1000, float("nan"))


def test_duplicate_check_after_restart_reads_the_chunk(store: Store, tmp_path: object) -> None:
    app = store.appender()
    app.append(UP, 1000, 7.5)
    app.commit()
    store.flush(cut_all=True)
    s = store.head.by_id[store.series_ref(UP)]
    s.last_v = None  # as after a reopen: the value is only on disk
    app = store.appender()
    app.append(UP, 1000, 7.5)
    with pytest.raises(OutOfOrderSampleError):
        app.append(UP, 1000, 8.0)


def test_append_ref_is_the_fast_path(store: Store) -> None:
    app = store.appender()
    ref = app.append(UP, 1000, 1.0)
    app.append_ref(ref, 2000, 2.0)
    app.commit()
    assert _values(store) == [1.0, 2.0]
    with pytest.raises(StorageError, match="unknown series ref 999"):
        store.appender().append_ref(999, 1, 1.0)


def test_concurrent_appender_losing_a_race_is_counted(store: Store) -> None:
    a, b = store.appender(), store.appender()
    a.append(UP, 2000, 2.0)
    b.append(UP, 1000, 1.0)
    a.commit()
    b.commit()
    assert _values(store) == [2.0]
    assert store.stats().out_of_order_dropped == 1


def test_labels_are_canonicalised(store: Store) -> None:
    app = store.appender()
    app.append((("job", "api"), ("__name__", "up"), ("empty", "")), 1000, 1.0)
    app.commit()
    assert store.querier().select(ALL, 0, 10**6)[0].labels == UP
    with pytest.raises(ValueError, match="at least one"):
        app.append((("a", ""),), 1, 1.0)


def test_closed_store_refuses_appenders(store: Store) -> None:
    app = store.appender()
    app.append(UP, 1, 1.0)
    store.close()
    with pytest.raises(StorageError, match="closed"):
        app.commit()
    with pytest.raises(StorageError, match="closed"):
        store.appender()
