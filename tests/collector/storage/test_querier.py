from __future__ import annotations

import tempfile
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricslib.collector.model import STALE_NAN, STALE_NAN_BITS, Labels, Matcher, make_labels
from metricslib.collector.storage import Store, open_storage, querier


def _add(store: Store, labels: dict[str, str], points: list[tuple[int, float]]) -> None:
    app = store.appender()
    for t, v in points:
        app.append(make_labels(labels), t, v)
    app.commit()


@pytest.fixture
def filled(store: Store) -> Store:
    store.head_chunk_samples = 4
    _add(store, {"__name__": "req", "job": "api", "code": "200"}, [(t * 1000, float(t)) for t in range(10)])
    _add(store, {"__name__": "req", "job": "web", "code": "500"}, [(t * 1000, -float(t)) for t in range(5, 15)])
    _add(store, {"__name__": "up", "job": "api"}, [(0, 1.0), (1000, STALE_NAN)])
    store.flush()  # part of each series goes to chunks, the rest stays in the head
    return store


def test_select_merges_chunks_and_head_in_range(filled: Store) -> None:
    got = filled.querier().select([Matcher("__name__", "=", "req")], 3000, 7000)
    assert [dict(s.labels)["code"] for s in got] == ["200", "500"]  # sorted by labels
    assert got[0].timestamps.tolist() == [3000, 4000, 5000, 6000, 7000]
    assert got[0].values.tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    assert got[1].timestamps.tolist() == [5000, 6000, 7000]
    assert got[0].timestamps.dtype == np.int64 and got[0].values.dtype == np.float64


def test_select_is_inclusive_and_drops_series_without_samples_in_range(filled: Store) -> None:
    got = filled.querier().select([Matcher("__name__", "=~", "req")], 9000, 9000)
    assert [s.values.tolist() for s in got] == [[9.0], [-9.0]]
    assert filled.querier().select([Matcher("__name__", "=", "req")], 100_000, 200_000) == []
    got = filled.querier().select([Matcher("job", "=", "web")], 0, 4999)
    assert got == []


def test_staleness_markers_are_returned_bit_exact(filled: Store) -> None:
    got = filled.querier().select([Matcher("__name__", "=", "up")], 0, 10_000)
    assert int(got[0].values.view(np.uint64)[1]) == STALE_NAN_BITS


def test_results_are_private_copies(filled: Store) -> None:
    q = filled.querier()
    first = q.select([Matcher("job", "=", "api"), Matcher("code", "=", "200")], 0, 3000)[0]
    first.values[:] = 99.0
    again = q.select([Matcher("job", "=", "api"), Matcher("code", "=", "200")], 0, 3000)[0]
    assert again.values.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_label_names_and_values(filled: Store) -> None:
    q = filled.querier()
    assert q.label_names() == ["__name__", "code", "job"]
    assert q.label_names([Matcher("__name__", "=", "up")]) == ["__name__", "job"]
    assert q.label_values("job") == ["api", "web"]
    assert q.label_values("code", [Matcher("job", "=", "web")]) == ["500"]
    # Time ranges: only series with samples inside count.
    assert q.label_values("job", mint_ms=12_000, maxt_ms=20_000) == ["web"]
    assert q.label_names(mint_ms=50_000) == []
    assert q.label_values("nope") == []


def test_selects_run_while_appending(store: Store) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()
    store.head_chunk_samples = 16

    def writer() -> None:
        try:
            t = 0
            while not stop.is_set() and t < 3000:
                app = store.appender()
                for i in range(20):
                    app.append(make_labels({"__name__": "w", "i": str(i)}), t, float(t))
                app.commit()
                if t % 50 == 0:
                    store.flush()
                    store.compact(final=False)
                t += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    th = threading.Thread(target=writer)
    th.start()
    q = store.querier()
    try:
        while th.is_alive():
            for s in q.select([Matcher("__name__", "=", "w")], 0, 10**9):
                # Every result is a gapless, ordered prefix of what was written.
                n = len(s)
                assert s.timestamps.tolist() == list(range(n))
                assert s.values.tolist() == [float(t) for t in range(n)]
            # A cached select never waits on I/O, so without this the loop keeps the GIL
            # and the writer's flush pays the 5 ms switch interval for every SQLite call
            # (seconds per flush). Queries over HTTP give it up on every socket call.
            time.sleep(0)
    finally:
        stop.set()
        th.join()
    assert not errors


# --- the bulk select path: chunks and head gathered for many series at once -----------------

_VALUE = st.one_of(st.integers(-1000, 1000).map(float), st.floats(allow_nan=True), st.just(STALE_NAN))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    series=st.lists(
        st.lists(st.tuples(st.integers(1, 5000), _VALUE), min_size=0, max_size=25), min_size=1, max_size=6
    ),
    flush_every=st.integers(1, 30),
    ranges=st.lists(st.tuples(st.integers(-10_000, 80_000), st.integers(0, 90_000)), min_size=1, max_size=5),
    slice_each=st.booleans(),
)
def test_select_equals_a_scan_of_every_sample(
    series: list[list[tuple[int, float]]],
    flush_every: int,
    ranges: list[tuple[int, int]],
    slice_each: bool,
) -> None:
    # Samples reach the chunks (small cuts, then flushes at random points) and the head in
    # every mix; each select must return exactly what a scan of all samples would, whether
    # edge chunks are sliced one by one or trimmed by the final mask.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(querier, "_SLICE_ABOVE", 0 if slice_each else 10**9)
        _check_against_scan(series, flush_every, ranges)


def _check_against_scan(
    series: list[list[tuple[int, float]]], flush_every: int, ranges: list[tuple[int, int]]
) -> None:
    model: dict[Labels, list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_storage(tmp, background=False, retention_ms=10**15, head_chunk_samples=3)
        try:
            appended = 0
            for k, points in enumerate(series):
                labels = make_labels({"__name__": "m", "k": f"{k:02d}"})
                t = 0
                kept = model.setdefault(labels, [])
                for gap, v in points:
                    t += gap
                    app = store.appender()
                    app.append(labels, t, v)
                    app.commit()
                    kept.append((t, v))
                    appended += 1
                    if appended % flush_every == 0:
                        store.flush()
            q = store.querier()
            for lo, width in ranges:
                hi = lo + width
                for _ in range(2):  # the second one is served by the cached selection
                    got = q.select_batch([Matcher("__name__", "=", "m")], lo, hi).series()
                    want = [
                        (lbl, [p for p in pts if lo <= p[0] <= hi]) for lbl, pts in sorted(model.items())
                    ]
                    want = [(lbl, pts) for lbl, pts in want if pts]
                    assert [s.labels for s in got] == [lbl for lbl, _ in want]
                    for s, (_, pts) in zip(got, want, strict=True):
                        assert s.timestamps.tolist() == [t for t, _ in pts]
                        expected = np.array([v for _, v in pts], dtype=np.float64)
                        assert s.values.view(np.uint64).tolist() == expected.view(np.uint64).tolist()
        finally:
            store.close()


def test_series_with_both_chunks_and_head_and_ranges_outside_the_data(filled: Store) -> None:
    q = filled.querier()
    req = [Matcher("__name__", "=", "req")]
    _add(filled, {"__name__": "req", "job": "api", "code": "200"}, [(10_000, 10.0), (11_000, 11.0)])
    s = filled.head.by_labels[make_labels({"__name__": "req", "job": "api", "code": "200"})]
    assert len(s.c_ids) and len(s.ts)  # both: the range below spans them
    got = q.select_batch(req, 2000, 12_000).series()
    assert got[0].timestamps.tolist() == list(range(2000, 12_000, 1000))
    assert got[0].values.tolist() == [float(t) for t in range(2, 12)]
    assert got[1].timestamps.tolist() == list(range(5000, 12_001, 1000))
    assert len(q.select_batch(req, -5000, -1)) == 0  # before everything
    assert len(q.select_batch(req, 10**9, 10**9 + 5)) == 0  # after everything
    assert len(q.select_batch([Matcher("__name__", "=", "nothing")], 0, 10**9)) == 0


def test_select_sees_series_added_deleted_and_expired(filled: Store) -> None:
    q = filled.querier()
    req = [Matcher("__name__", "=", "req")]
    assert len(q.select(req, 0, 20_000)) == 2
    _add(filled, {"__name__": "req", "job": "aaa", "code": "300"}, [(1000, 1.0)])
    got = q.select(req, 0, 20_000)
    assert [dict(s.labels)["job"] for s in got] == ["api", "aaa", "web"]  # by labels: code first
    filled.delete_series([[Matcher("job", "=", "api")]], -(2**62), 2**62)
    assert [dict(s.labels)["job"] for s in q.select(req, 0, 20_000)] == ["aaa", "web"]
    filled.retention_ms = 1
    filled.apply_retention(now_ms=10**9)  # every chunk has expired
    filled.flush(cut_all=True)
    filled.apply_retention(now_ms=10**9)
    assert q.select(req, 0, 20_000) == []
    _add(filled, {"__name__": "req", "job": "new", "code": "200"}, [(10**9, 2.0)])
    assert [dict(s.labels)["job"] for s in q.select(req, 0, 2 * 10**9)] == ["new"]


def test_head_samples_overlapping_chunks_are_merged_chunk_first(store: Store) -> None:
    # What an import racing an appender leaves behind: chunks and head holding the same times.
    labels = make_labels({"__name__": "m"})
    store.import_series([(labels, np.array([0, 10, 20], dtype=np.int64), np.array([1.0, 2.0, 3.0]))])
    s = store.head.by_labels[labels]
    with store.head.lock:
        s.ts.extend([15, 20, 30])
        s.vs.extend([9.0, 9.0, 9.0])
    got = store.querier().select([Matcher("__name__", "=", "m")], 5, 100)[0]
    assert got.timestamps.tolist() == [10, 15, 20, 30]
    assert got.values.tolist() == [2.0, 9.0, 3.0, 9.0]


def test_long_chunks_are_sliced_at_both_edges(store: Store) -> None:
    labels = make_labels({"__name__": "m"})
    ts = np.arange(3000, dtype=np.int64) * 1000
    store.import_series([(labels, ts, ts.astype(np.float64))])
    _add(store, {"__name__": "m"}, [(3_000_000, 1.0), (3_001_000, 2.0)])
    s = store.head.by_labels[labels]
    assert max(s.c_n) > querier._SLICE_ABOVE and len(s.ts) == 2
    q = store.querier()
    got = q.select([Matcher("__name__", "=", "m")], 1_000_500, 1_010_000)[0]
    assert got.timestamps.tolist() == list(range(1_001_000, 1_010_001, 1000))
    got = q.select([Matcher("__name__", "=", "m")], 2_999_000, 3_000_000)[0]
    assert got.values.tolist() == [2_999_000.0, 1.0]
