"""Result values: API shapes, label-set consolidation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metricslib.collector.promql.values import Block, QueryResult, ResultSeries
from metricslib.errors import QueryExecutionError


def test_vector_matrix_scalar_api_shapes() -> None:
    vec = QueryResult("vector", [ResultSeries((("__name__", "up"), ("job", "a")), [1500], [1.0])])
    assert vec.to_api() == {
        "resultType": "vector",
        "result": [{"metric": {"__name__": "up", "job": "a"}, "value": [1.5, "1"]}],
    }
    mat = QueryResult("matrix", [ResultSeries((), [0, 1000], [0.5, math.inf])])
    assert mat.to_api()["result"] == [{"metric": {}, "values": [[0, "0.5"], [1, "+Inf"]]}]
    sc = QueryResult("scalar", scalar_time_ms=2000, scalar_value=3.25)
    assert sc.to_api() == {"resultType": "scalar", "result": [2, "3.25"]}
    s = QueryResult("string", scalar_time_ms=2000, scalar_value="hi")
    assert s.to_api() == {"resultType": "string", "result": [2, "hi"]}


def _block(labels: list[tuple[tuple[str, str], ...]], values: list[list[float]], present: list[list[bool]]) -> Block:
    return Block(labels, np.array(values), np.array(present), [False] * len(labels))


def test_consolidate_merges_disjoint_rows_with_equal_labels() -> None:
    a = (("x", "1"),)
    block = _block([a, a], [[1, 0], [0, 2]], [[True, False], [False, True]])
    merged = block.consolidate()
    assert merged.labels == [a]
    assert merged.values.tolist() == [[1, 2]]
    assert merged.present.tolist() == [[True, True]]


def test_consolidate_rejects_equal_labels_at_the_same_time() -> None:
    a = (("x", "1"),)
    block = _block([a, a], [[1, 0], [3, 2]], [[True, False], [True, True]])
    with pytest.raises(QueryExecutionError, match="same labelset"):
        block.consolidate()


def test_compact_drops_rows_never_present() -> None:
    block = _block([(("a", "1"),), (("a", "2"),)], [[1], [2]], [[False], [True]])
    assert block.compact().labels == [(("a", "2"),)]
