"""All-windows-at-once range functions against the per-window reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.promql.functions import (
    CallContext,
    call_function,
)
from metricslib.collector.promql.values import RangeArg, RangeSeries
from tests.collector.promql.function_helpers import L, series

_COMPARED = (
    "rate", "increase", "delta", "irate", "idelta", "count_over_time", "last_over_time",
    "sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "stddev_over_time",
    "stdvar_over_time", "changes", "resets", "deriv", "predict_linear", "quantile_over_time",
)


@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 30_000), st.floats(-1e6, 1e6)), min_size=0, max_size=25),
        min_size=1, max_size=4,
    ),
    st.integers(1_000, 120_000),
    st.lists(st.integers(0, 400_000), min_size=1, max_size=6),
    st.sampled_from(_COMPARED),
)
@settings(max_examples=60, deadline=None)
def test_vectorised_windows_match_per_series_reference(
    raw: list[list[tuple[int, float]]], range_ms: int, ends: list[int], name: str
) -> None:
    """All-series-at-once window maths must equal the per-series implementation."""
    from metricslib.collector.promql.range_vectorised import (
        vectorised_range_function as _vectorised_range_function,
    )
    from metricslib.collector.promql.window_functions import series_windows as _series_windows

    series_list = []
    for i, points in enumerate(raw):
        ts = np.cumsum([gap for gap, _ in points]).astype(np.int64)
        vs = np.array([v for _, v in points], dtype=float)
        series_list.append(RangeSeries(L(__name__="x_total", i=str(i)), ts, vs))
    series_list = [s for s in series_list if len(s.timestamps)]
    if not series_list:
        return
    times = np.array(sorted(ends), dtype=np.int64)
    rng = RangeArg(series_list, times.copy(), range_ms)
    param = np.linspace(-0.1, 1.1, len(times)) if name == "quantile_over_time" else np.full(len(times), 600.0)
    fast = _vectorised_range_function(name, rng, param, times)
    ctx = CallContext(times, ())
    args = [param, rng] if name == "quantile_over_time" else [rng, param]
    for s in series_list:
        lo, hi = rng.bounds(s)
        want, mask = _series_windows(name, s, lo, hi, rng, args, ctx)
        if s.labels not in fast.labels:
            assert not mask.any()
            continue
        row = fast.labels.index(s.labels)
        assert fast.present[row].tolist() == mask.tolist()
        got = fast.values[row][mask]
        np.testing.assert_allclose(got, want[mask], rtol=1e-9, atol=1e-9, equal_nan=True)


def test_wide_vectorised_windows_honour_the_deadline() -> None:
    from metricslib.errors import QueryTimeoutError

    def expired() -> None:
        raise QueryTimeoutError("query timed out in expression evaluation")

    s = series([i + 0.5 for i in range(1000)], step_ms=1000)
    times = np.arange(980_000, 1_000_000, 1000, dtype=np.int64)  # enough windows to be vectorised
    rng = RangeArg([s], times.copy(), 1_000_000)
    with pytest.raises(QueryTimeoutError):  # stddev walks window positions, checking the deadline
        call_function("stddev_over_time", [rng], CallContext(times, (), check=expired))


@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 30_000), st.one_of(st.integers(-(10**12), 10**12).map(float), st.just(-0.0))),
                 min_size=1, max_size=40),
        min_size=1, max_size=3,
    ),
    st.integers(1_000, 300_000),
    st.lists(st.integers(0, 600_000), min_size=17, max_size=24),
    st.sampled_from(["sum_over_time", "avg_over_time"]),
)
@settings(max_examples=80, deadline=None)
def test_whole_number_sums_are_bit_identical_to_kahan(
    raw: list[list[tuple[int, float]]], range_ms: int, ends: list[int], name: str
) -> None:
    """Whole numbers take the prefix-sum path: same bits as the Kahan reference, signed zeros included."""
    from metricslib.collector.promql.range_vectorised import vectorised_range_function
    from metricslib.collector.promql.window_functions import series_windows

    series_list = [
        RangeSeries(L(i=str(i)), np.cumsum([gap for gap, _ in pts]).astype(np.int64), np.array([v for _, v in pts]))
        for i, pts in enumerate(raw)
    ]
    times = np.array(sorted(ends), dtype=np.int64)
    rng = RangeArg(series_list, times.copy(), range_ms)
    fast = vectorised_range_function(name, rng)
    for s in series_list:
        lo, hi = rng.bounds(s)
        want, mask = series_windows(name, s, lo, hi, rng, [rng], CallContext(times, ()))
        if not mask.any():
            continue
        got = fast.values[fast.labels.index(s.labels)][mask]
        assert got.tolist() == want[mask].tolist()
        assert np.signbit(got).tolist() == np.signbit(want[mask]).tolist()


_windows = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=20).map(
    lambda pairs: (np.array([min(a, b) for a, b in pairs]), np.array([max(a, b) for a, b in pairs]))
)


@given(
    st.lists(st.floats(-1e300, 1e300) | st.sampled_from([1e100, -1e100, 1.0, 1e-100]), min_size=61, max_size=61),
    _windows,
)
def test_window_sums_are_as_accurate_as_a_compensated_sum(values: list[float], windows: tuple[np.ndarray, np.ndarray]) -> None:
    import math

    from metricslib.collector.promql.range_vectorised import _window_sums

    lo, hi = windows
    vals = np.array(values)
    got = _window_sums(vals, lo, hi)
    if got is None:  # a prefix overflowed: the exact path takes over
        assert not np.isfinite(np.cumsum(vals)).all()
        return
    for g, a, b in zip(got.tolist(), lo.tolist(), hi.tolist(), strict=True):
        exact = math.fsum(values[a:b])
        # About one rounding of the result, plus second-order terms of the prefix size.
        tolerance = 4e-16 * abs(exact) + 1e-28 * max(abs(v) for v in [0.0, *np.cumsum(vals).tolist()])
        assert abs(g - exact) <= tolerance, (g, exact, values[a:b])


@given(
    st.lists(st.floats(allow_infinity=True, allow_nan=True), min_size=61, max_size=61),
    _windows,
    st.sampled_from(["min_over_time", "max_over_time"]),
)
def test_window_extremes_ignore_nan_unless_all_are(values: list[float], windows: tuple[np.ndarray, np.ndarray], name: str) -> None:
    import math

    from metricslib.collector.promql.range_vectorised import _window_extremes

    lo, hi = windows
    got = _window_extremes(name, np.array(values), lo, hi)
    pick = min if name == "min_over_time" else max
    for g, a, b in zip(got.tolist(), lo.tolist(), hi.tolist(), strict=True):
        numbers = [v for v in values[a:b] if not math.isnan(v)]
        if numbers:
            assert g == pick(numbers)
        else:
            assert math.isnan(g)


@given(
    st.lists(st.lists(st.tuples(st.integers(1, 30_000), st.floats(0, 1e6)), min_size=1, max_size=40), min_size=1, max_size=3),
    st.integers(0, 200_000),
    st.integers(1, 20_000),
    st.integers(1, 30),
    st.integers(1, 12),
    st.sampled_from(["rate", "increase", "sum_over_time", "count_over_time", "max_over_time"]),
)
@settings(max_examples=60, deadline=None)
def test_windows_of_evenly_spaced_steps_reuse_earlier_ends(
    raw: list[list[tuple[int, float]]], start: int, step: int, n: int, lag: int, name: str
) -> None:
    """A range that is a whole number of steps takes each window's start from an
    earlier window's end; the result must not change."""
    from metricslib.collector.promql.range_vectorised import vectorised_range_function
    from metricslib.collector.promql.window_functions import series_windows

    series_list = [
        RangeSeries(L(__name__="x_total", i=str(i)), np.cumsum([g for g, _ in pts]).astype(np.int64), np.array([v for _, v in pts]))
        for i, pts in enumerate(raw)
    ]
    times = np.arange(start, start + n * step, step, dtype=np.int64)
    rng = RangeArg(series_list, times.copy(), lag * step)
    fast = vectorised_range_function(name, rng)
    ctx = CallContext(times, ())
    for s in series_list:
        lo, hi = rng.bounds(s)
        want, mask = series_windows(name, s, lo, hi, rng, [rng], ctx)
        if s.labels not in fast.labels:
            assert not mask.any()
            continue
        row = fast.labels.index(s.labels)
        assert fast.present[row].tolist() == mask.tolist()
        np.testing.assert_allclose(fast.values[row][mask], want[mask], rtol=1e-9, atol=1e-9)


@given(
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)), min_size=1, max_size=60),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), min_size=1, max_size=12),
)
def test_window_extremes_one_pass_equals_the_sparse_table(values: list[float], windows: list[tuple[int, int]]) -> None:
    # Barely overlapping windows take one reduceat instead of a table of
    # len(values) x log2(width) (4 GB for max_over_time(up[1d:1ms])); same answers.
    from metricslib.collector.promql import range_vectorised as rv

    vals = np.array(values)
    lo = np.array([[min(a, len(vals)) for a, _ in windows]])
    hi = np.minimum(lo + np.array([[w for _, w in windows]]), len(vals))
    for reduce in (np.fmin, np.fmax):
        name = "min_over_time" if reduce is np.fmin else "max_over_time"
        expected = np.array([[reduce.reduce(vals[a:b]) if b > a else np.nan for a, b in zip(lo[0], hi[0], strict=True)]])
        assert np.array_equal(rv._direct_extremes(reduce, vals, lo, hi, hi - lo), expected, equal_nan=True)
        if (hi - lo).max() > 0:
            assert np.array_equal(rv._window_extremes(name, vals, lo, hi), expected, equal_nan=True)


@given(
    st.lists(st.lists(st.integers(1, 40_000), min_size=1, max_size=30), min_size=1, max_size=5),
    st.integers(-200_000, 600_000),
    st.integers(1, 60_000),
    st.integers(2, 12),
    st.integers(1, 11),
    st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_grid_window_bounds_match_binary_search(
    gaps: list[list[int]], first_end: int, step: int, n: int, lag: int, aligned: bool
) -> None:
    """Evenly spaced steps and a range of whole steps take the counting path; its
    bounds must be the ones a binary search per window finds, for samples before,
    inside and after the query, on and between grid times."""
    from metricslib.collector.promql.range_vectorised import _bounds, _grid_bounds

    def times(g: list[int]) -> np.ndarray:
        t = np.cumsum(np.array(g, dtype=np.int64) % 40 + 1)
        # Aligned: samples on grid times or 1 ms either side, where rounding mistakes show.
        jitter = np.array(g, dtype=np.int64) % 3 - 1 if step >= 3 else 0
        return first_end + (t - 200) * step + jitter if aligned else np.cumsum(np.array(g, dtype=np.int64)) - 100_000

    series_list = [RangeSeries(L(__name__="x", i=str(i)), times(g), np.zeros(len(g))) for i, g in enumerate(gaps)]
    ends = first_end + np.arange(n, dtype=np.int64) * step
    rng = RangeArg(series_list, ends, lag * step)
    grid = _grid_bounds(rng.batch, rng)
    assert (grid is not None) == (lag < n)
    lo, hi = _bounds(rng.batch, rng)
    offsets = rng.batch.offsets
    for row, s in enumerate(series_list):
        want_lo, want_hi = rng.bounds(s)
        assert lo[row].tolist() == (want_lo + offsets[row]).tolist()
        assert hi[row].tolist() == (want_hi + offsets[row]).tolist()


@pytest.mark.parametrize("name", ["rate", "increase", "delta"])
@pytest.mark.parametrize("block_cells", [1, 3, 7, 50])
def test_rate_in_row_blocks_equals_one_block(name: str, block_cells: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """rate works on blocks of rows; counter resets in any series must still be
    found and added back in every block, bit for bit as in one block."""
    from metricslib.collector.promql import range_vectorised

    rs = np.random.default_rng(7)
    series_list = []
    for i in range(9):
        ts = np.cumsum(rs.integers(5_000, 20_000, 40)).astype(np.int64)
        vs = np.cumsum(rs.random(40) * 10)
        if i % 3 == 0:
            vs[25:] -= vs[24] - 1.0  # a counter reset
        series_list.append(RangeSeries(L(__name__="x", i=str(i)), ts, vs))
    ends = np.arange(60_000, 500_000, 15_000, dtype=np.int64)
    whole = range_vectorised.vectorised_range_function(name, RangeArg(series_list, ends.copy(), 60_000))
    monkeypatch.setattr(range_vectorised, "RATE_BLOCK_CELLS", block_cells)
    blocked = range_vectorised.vectorised_range_function(name, RangeArg(series_list, ends.copy(), 60_000))
    assert whole.labels == blocked.labels
    assert (whole.present == blocked.present).all()
    assert whole.values.tobytes() == blocked.values.tobytes()
    if name != "delta":
        assert whole.present.sum() > 100 and (whole.values[whole.present] >= 0).all()
