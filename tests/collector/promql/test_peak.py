"""Prometheus 2.42's peak of samples held, computed from per-step counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import SeriesBatch, make_labels
from metricslib.collector.promql import peak
from metricslib.collector.promql.engine import Engine
from metricslib.errors import TooManySamplesError
from tests.collector.promql.memstore import MemoryQuerier
from tests.collector.promql.test_engine_limits import make_api, query


def test_step_peak_holds_the_step_inputs_and_the_results_so_far() -> None:
    # Step 3 holds 1 + 2 + 0 results and its own 5 input points.
    assert peak.step_peak(np.array([4, 1, 5]), np.array([1, 2, 0])) == 8
    assert peak.step_peak(np.array([], dtype=np.int64), np.array([], dtype=np.int64)) == 0


def test_range_call_peak_is_the_outputs_so_far_plus_one_window() -> None:
    counts = np.array([[1, 3, 2], [0, 1, 4]])
    # Series 0: 3 outputs (need 1); its biggest window 3, then its last window 2 with
    # its outputs; series 1 (2 outputs) reads with 3 held: 3 + 4, then 3 + 2 + 4 at its end.
    assert peak.range_call_peak(counts, 1, 0) == (9, 5)
    # rate needs two points: outputs 2 and 1; earlier slices' outputs carry over.
    assert peak.range_call_peak(counts, 2, 10) == (10 + 2 + 1 + 4, 13)
    assert peak.range_call_peak(np.zeros((0, 3), dtype=np.int64), 1, 7) == (7, 7)


def _batch(rows: list[list[int]]) -> SeriesBatch:
    ts = np.array([t for r in rows for t in r], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in rows]))).astype(np.int64)
    labels = [make_labels({"i": str(i)}) for i in range(len(rows))]
    return SeriesBatch(labels, ts, np.zeros(len(ts)), offsets)


def test_windows_are_closed_on_both_ends() -> None:
    batch = _batch([[0, 10, 20, 30], [5, 25]])
    counts = peak.closed_window_counts(batch, np.array([20, 30], dtype=np.int64), 10)
    assert counts.tolist() == [[2, 2], [0, 1]]


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.sets(st.integers(-50, 250), max_size=12).map(sorted), min_size=1, max_size=5),
    first=st.integers(-20, 100),
    step=st.integers(1, 30),
    n=st.integers(2, 12),
    lag=st.integers(0, 6),
)
def test_grid_counting_agrees_with_searching(rows: list[list[int]], first: int, step: int, n: int, lag: int) -> None:
    batch = _batch(rows)
    ends = first + np.arange(n, dtype=np.int64) * step
    got = peak.closed_window_counts(batch, ends, lag * step)
    want = [[sum(e - lag * step <= t <= e for t in r) for e in ends.tolist()] for r in rows]
    assert got.tolist() == want
    # From the bounds of the left-open windows a range function finds.
    first = batch.offsets[:-1, None]
    lo = first + np.array([np.searchsorted(r, ends - lag * step, side="right") for r in rows]).reshape(len(rows), n)
    hi = first + np.array([np.searchsorted(r, ends, side="right") for r in rows]).reshape(len(rows), n)
    assert peak.closed_from_open(batch, ends, lag * step, lo, hi).tolist() == want


def _counters(series: int, jobs: int) -> MemoryQuerier:
    q = MemoryQuerier()
    for i in range(series):
        q.add_series(
            make_labels({"__name__": "x_total", "job": f"j{i % jobs}", "i": str(i)}),
            ((t, float(t)) for t in range(0, 7_200_001, 15_000)),
        )
    return q


def test_issue_12_shape_is_answered_at_its_peak_and_refused_below() -> None:
    # sum(rate(x[5m])) by (job), 1 h at 15 s: rate holds its 241 outputs per series
    # and one 21-sample window; the sum then holds rate's outputs, one step of them
    # and its own results so far.
    series, jobs, steps = 50, 2, 241
    want = series * steps + jobs * steps + series
    q = _counters(series, jobs)
    params = {"query": "sum by (job) (rate(x_total[5m]))", "start": "3600", "end": "7200", "step": "15"}
    status, body = query(make_api(q, max_samples=want), "/api/v1/query_range", stats="all", **params)
    assert status == 200, body
    assert body["data"]["stats"]["samples"]["peakSamples"] == want
    status, body = query(make_api(q, max_samples=want - 1), "/api/v1/query_range", **params)
    assert (status, body["errorType"]) == (422, "execution")


@pytest.mark.parametrize(
    ("expr", "want"),
    [("x_total", 4), ("x_total[1m]", 4 * 5), ("rate(x_total[1m])", 4 + 5), ("x_total[1m:30s]", 4 * 3),
     ("max_over_time(x_total[1m:30s])", 4 * 3 + 4 + 3), ("2 * x_total", 1 + 4 + 1 + 4 + 4), ("timestamp(x_total)", 8)],
)  # fmt: skip
def test_instant_peaks(expr: str, want: int) -> None:
    result = Engine(_counters(4, 2)).instant_query(expr, 3_600_000)
    assert result.samples_loaded == want


def test_a_subquerys_points_are_released_after_its_reader() -> None:
    # max_over_time holds the subquery's 12 points, its 4 outputs and one 3-point
    # window (19); then only its outputs: the sum adds 4 + 1 on top of 4, not of 16.
    engine = Engine(_counters(4, 2))
    assert engine.instant_query("sum(max_over_time(x_total[1m:30s]))", 3_600_000).samples_loaded == 19
    assert engine.instant_query("sum(max_over_time(x_total[1m:30s])) * 1", 3_600_000).samples_loaded == 19
    with pytest.raises(TooManySamplesError):
        Engine(_counters(4, 2), max_samples=18).instant_query("sum(max_over_time(x_total[1m:30s]))", 3_600_000)


@pytest.mark.parametrize(
    ("expr", "invariant"),
    [("x @ 5", True), ("sum(rate(x[5m] @ end()))", True), ("vector(1)", True), ("1 + 2", True),
     ("x", False), ("x @ 5 + x", False), ("timestamp(x @ 5)", False), ("time()", False),
     ("max_over_time(x[5m:1m])", False), ("max_over_time(x[5m:1m] @ 5)", True),
     ("topk(scalar(x), x @ 5)", True), (" or ".join(["x @ 5"] * 3000), True)],
)  # fmt: skip
def test_step_invariant_follows_prometheus(expr: str, invariant: bool) -> None:
    from metricslib.collector.promql.parser.parse import parse_expr

    assert peak.step_invariant(parse_expr(expr)) is invariant


def test_a_pinned_expression_is_evaluated_once_and_repeated() -> None:
    # 4 series at one step, then repeated over 61 steps: 4 x 61 held; the sum over
    # one step holds 4 + 4 + 1 before its 1 result is repeated.
    engine = Engine(_counters(4, 2))
    result = engine.range_query("x_total @ 3600", 3_000_000, 3_600_000, 10_000)
    assert result.samples_loaded == 4 * 61
    assert {v for s in result.series for v in np.asarray(s.values).tolist()} == {3_600_000.0}
    assert engine.range_query("sum(x_total @ 3600)", 3_000_000, 3_600_000, 10_000).samples_loaded == 61
