"""Query results as JSON text: equal to ``QueryResult.to_api()``, written like Prometheus."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import Labels
from metricslib.collector.promql.values import QueryResult, ResultSeries
from metricslib.collector.web.api.result_json import labels_json, result_json


def test_labels_are_written_as_utf8_with_json_escapes() -> None:
    labels: Labels = (("a", 'quote " and \\ backslash'), ("b", "\u00e9\n"))
    assert labels_json(labels) == '{"a":"quote \\" and \\\\ backslash","b":"\u00e9\\n"}'.encode()


def _json_of(result: QueryResult) -> object:
    text = result_json(result)
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
    assert result_json(result) == (
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


def test_a_matrix_printed_in_slices_is_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # Big matrices are printed a slice of points at a time (so one C call never
    # holds the GIL for long); the text must not depend on the slicing.
    import numpy as np

    from metricslib.collector.web.api import result_json as module

    steps = np.arange(0, 50_000, 1000, dtype=np.int64)
    series = [ResultSeries((("i", str(k)),), steps, np.linspace(-1.5, 1e6, len(steps)) * k) for k in range(7)]
    series.insert(3, ResultSeries((("i", "long"),), np.arange(0, 40_000, 250, dtype=np.int64), np.full(160, math.nan)))
    series.append(ResultSeries((("i", "short"),), [5], [2.0]))
    result = QueryResult("matrix", series)
    whole = result_json(result)
    monkeypatch.setattr(module, "_SLICE_POINTS", 60)
    assert result_json(result) == whole
    monkeypatch.setattr(module, "_SLICE_POINTS", 7)
    assert result_json(result) == whole
    assert json.loads(whole) == result.to_api()
