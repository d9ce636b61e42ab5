"""Result values: Go float formatting, API shapes, label-set consolidation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.promql.values import (
    Block,
    QueryResult,
    ResultSeries,
    format_float,
    format_time,
)
from metricslib.errors import QueryExecutionError


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1000000.0, "1000000"),
        (0.1, "0.1"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (-0.0, "-0"),
        (0.0, "0"),
        (123456789.125, "123456789.125"),
    ],
)
def test_format_float_matches_go(value: float, text: str) -> None:
    assert format_float(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_float_round_trips_without_exponent(value: float) -> None:
    text = format_float(value)
    assert "e" not in text.lower()
    assert float(text) == value


def test_format_time_keeps_millisecond_precision() -> None:
    assert format_time(1435781451781) == 1435781451.781
    assert format_time(1435781451000) == 1435781451
    assert isinstance(format_time(5000), int)


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


def _json_of(result: QueryResult) -> object:
    import json

    text = result.to_api_json()
    assert isinstance(text, bytes)
    return json.loads(text)


def test_api_json_equals_to_api_for_every_result_type() -> None:
    labels = (("__name__", "up"), ("job", 'a"\\\n\u00e9'))
    cases = [
        QueryResult("vector", [ResultSeries(labels, [1500], [1.0]), ResultSeries((), [1500], [math.nan])]),
        QueryResult("vector"),
        QueryResult("matrix", [ResultSeries(labels, [0, 1000, 2500], [0.5, math.inf, -0.0]),
                               ResultSeries((("a", "b"),), [1000], [7.0]), ResultSeries((), [], [])]),
        # Bulk paths: whole numbers at and past 1e15 print without ".0"; tiny and huge
        # fractions need Go's plain notation, never an exponent.
        QueryResult("matrix", [ResultSeries((), list(range(0, 12000, 1000)),
                                            [1e15, 2.5e15, 123456789012345.6, 1e-5, 5e-324, 0.5, 1e22, -0.0, 3.0,
                                             math.nan, 0.25, 0.75])]),
        QueryResult("matrix"),
        QueryResult("scalar", scalar_time_ms=2000, scalar_value=-math.inf),
        QueryResult("string", scalar_time_ms=2001, scalar_value='q"x'),
    ]
    for result in cases:
        assert _json_of(result) == result.to_api()


def test_api_json_uses_compact_separators_and_utf8_like_prometheus() -> None:
    result = QueryResult("matrix", [ResultSeries((("k", "\u00e9"),), [1000, 2500], [1.0, 2.5])])
    assert result.to_api_json() == (
        '{"resultType":"matrix","result":[{"metric":{"k":"\u00e9"},"values":[[1,"1"],[2.5,"2.5"]]}]}'.encode()
    )



_label_sets = st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=3, unique_by=lambda p: p[0]).map(tuple)
_points = st.lists(
    st.tuples(st.integers(-(10**13), 10**13), st.one_of(st.floats(), st.integers(-(10**16), 10**16).map(float))),
    max_size=30,
    unique_by=lambda p: p[0],
)


@given(st.lists(st.tuples(_label_sets, _points), max_size=5))
def test_api_json_matrix_round_trips(series: list[tuple[tuple[tuple[str, str], ...], list[tuple[int, float]]]]) -> None:
    result = QueryResult("matrix", [ResultSeries(lbl, [t for t, _ in pts], [v for _, v in pts]) for lbl, pts in series])
    assert _json_of(result) == result.to_api()


@given(st.lists(st.tuples(_label_sets, st.integers(-(10**13), 10**13), st.floats()), max_size=5))
def test_api_json_vector_round_trips(series: list[tuple[tuple[tuple[str, str], ...], int, float]]) -> None:
    result = QueryResult("vector", [ResultSeries(lbl, [t], [v]) for lbl, t, v in series])
    assert _json_of(result) == result.to_api()


def test_api_json_with_series_sharing_one_timestamp_list() -> None:
    steps = [0, 15_000, 30_000]
    result = QueryResult("matrix", [
        ResultSeries((("i", "1"),), steps, [1.0, 2.0, 3.0]),
        ResultSeries((("i", "2"),), [15_000], [0.5]),
        ResultSeries((("i", "3"),), steps, [4.0, 5.5, 6.0]),
    ])
    assert _json_of(result) == result.to_api()
