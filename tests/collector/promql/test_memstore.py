"""The in-memory Querier used by the PromQL tests."""

from __future__ import annotations

from metricslib.collector.model import Matcher, make_labels
from tests.collector.promql.memstore import MemoryQuerier

A = make_labels({"__name__": "x", "job": "a"})
B = make_labels({"__name__": "x", "job": "b", "env": "prod"})
C = make_labels({"__name__": "y"})


def store() -> MemoryQuerier:
    q = MemoryQuerier()
    q.add_series(B, [(2000, 2.0), (0, 0.0), (1000, 1.0)])
    q.add_series(A, [(0, 10.0), (5000, 15.0)])
    q.add(C, 3000, 3.0)
    return q


def test_select_filters_by_matchers_and_inclusive_range() -> None:
    got = store().select([Matcher("__name__", "=", "x")], 1000, 5000)
    # Sorted by labels pair by pair, like Prometheus: "env" sorts before "job".
    assert [s.labels for s in got] == [B, A]
    assert got[0].timestamps.tolist() == [1000, 2000] and got[0].values.tolist() == [1.0, 2.0]
    assert got[1].timestamps.tolist() == [5000]


def test_series_without_samples_in_range_are_left_out() -> None:
    assert store().select([Matcher("__name__", "=", "x")], 2500, 4000) == []


def test_missing_label_matches_empty_value() -> None:
    got = store().select([Matcher("env", "=", "")], 0, 10_000)
    assert [s.labels for s in got] == [A, C]
    regex = store().select([Matcher("job", "=~", "b|c")], 0, 10_000)
    assert [s.labels for s in regex] == [B]


def test_same_timestamp_replaces() -> None:
    q = store()
    q.add(C, 3000, 30.0)
    assert q.select([Matcher("__name__", "=", "y")], 0, 10_000)[0].values.tolist() == [30.0]


def test_label_names_and_values() -> None:
    q = store()
    assert q.label_names() == ["__name__", "env", "job"]
    assert q.label_names([Matcher("__name__", "=", "y")]) == ["__name__"]
    assert q.label_values("job") == ["a", "b"]
    assert q.label_values("job", mint_ms=3000) == ["a"]


def test_clear() -> None:
    q = store()
    q.clear()
    assert q.select([Matcher("__name__", "=~", ".+")], 0, 10_000) == []
