from __future__ import annotations

import threading

import numpy as np
import pytest

from metricslib.collector.model import STALE_NAN, STALE_NAN_BITS, Matcher, make_labels
from metricslib.collector.storage import Store


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
    finally:
        stop.set()
        th.join()
    assert not errors
