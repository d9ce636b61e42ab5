"""PromQL functions: range-window maths, histogram buckets, label functions, dates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Labels, Matcher
from metricslib.collector.promql import ast
from metricslib.collector.promql.functions import (
    CallContext,
    absent_labels,
    bucket_fraction,
    bucket_quantile,
    call_function,
    go_quote,
    label_join,
    label_replace,
    linear_regression,
)
from metricslib.collector.promql.values import Block, RangeArg, RangeSeries
from metricslib.errors import QueryExecutionError


def L(**kw: str) -> Labels:
    return tuple(sorted(kw.items()))


COUNTER = (("__name__", "c_total"),)


def series(values: list[float], step_ms: int = 10_000, labels: Labels = COUNTER) -> RangeSeries:
    ts = np.arange(len(values), dtype=np.int64) * step_ms
    return RangeSeries(labels, ts, np.array(values, dtype=float))


def call_range(name: str, s: RangeSeries, end_ms: int, range_ms: int, *extra: np.ndarray) -> Block:
    times = np.array([end_ms], dtype=np.int64)
    rng = RangeArg([s], times.copy(), range_ms)
    args = [*extra, rng] if name == "quantile_over_time" else [rng, *extra]
    out = call_function(name, args, CallContext(times, ()))
    assert isinstance(out, Block)
    return out


def value(b: Block) -> float | None:
    if not len(b) or not b.present[0, 0]:
        return None
    return float(b.values[0, 0])


def test_rate_extrapolates_to_window_edges() -> None:
    # 0,10,...,60 every 10s; window (0s, 60s] holds 10..60: five gaps of 10s.
    s = series([0, 10, 20, 30, 40, 50, 60])
    assert value(call_range("rate", s, 60_000, 60_000)) == pytest.approx(1.0)
    assert value(call_range("increase", s, 60_000, 60_000)) == pytest.approx(60.0)


def test_rate_handles_counter_reset() -> None:
    s = series([0, 10, 20, 5, 15, 25, 35])
    # Increase within (0,60]: 10 + (20-10) + 5 + 10 + 10 + 10 -> 45 over 50s, extrapolated to 60s.
    assert value(call_range("increase", s, 60_000, 60_000)) == pytest.approx(45 * 60 / 50)


def test_delta_is_not_reset_aware() -> None:
    s = series([10, 5, 0], labels=L(__name__="g"))
    assert value(call_range("delta", s, 20_000, 30_000)) == pytest.approx(-10 * 30 / 20)


def test_rate_needs_two_samples() -> None:
    assert value(call_range("rate", series([1, 2]), 0, 60_000)) is None


def test_irate_and_idelta_use_last_two_samples() -> None:
    s = series([0, 10, 30])
    assert value(call_range("irate", s, 20_000, 60_000)) == pytest.approx(2.0)
    assert value(call_range("idelta", s, 20_000, 60_000)) == pytest.approx(20.0)
    reset = series([0, 10, 4])
    assert value(call_range("irate", reset, 20_000, 60_000)) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sum_over_time", 10.0),
        ("avg_over_time", 2.5),
        ("min_over_time", 1.0),
        ("max_over_time", 4.0),
        ("count_over_time", 4.0),
        ("last_over_time", 3.0),
        ("present_over_time", 1.0),
        ("changes", 3.0),
        ("resets", 1.0),
        ("stdvar_over_time", 1.25),
    ],
)
def test_over_time_functions(name: str, expected: float) -> None:
    s = series([1, 2, 4, 3])
    assert value(call_range(name, s, 30_000, 60_000)) == pytest.approx(expected)


def test_window_is_open_on_the_left() -> None:
    s = series([1, 2, 4, 3])
    # (10s, 30s] excludes the sample at exactly 10s.
    assert value(call_range("count_over_time", s, 30_000, 20_000)) == 2.0


def test_last_over_time_keeps_the_name_other_functions_flag_it() -> None:
    s = series([1, 2])
    assert call_range("last_over_time", s, 10_000, 60_000).drop_name == [False]
    assert call_range("max_over_time", s, 10_000, 60_000).drop_name == [True]


def test_quantile_over_time() -> None:
    s = series([1, 2, 3, 4, 5])
    out = call_range("quantile_over_time", s, 40_000, 60_000, np.array([0.5]))
    assert value(out) == 3.0


def test_deriv_and_predict_linear() -> None:
    s = series([0, 20, 40, 60])
    assert value(call_range("deriv", s, 30_000, 60_000)) == pytest.approx(2.0)
    assert value(call_range("predict_linear", s, 30_000, 60_000, np.array([10.0]))) == pytest.approx(80.0)


def test_linear_regression_constant_series() -> None:
    ts = np.array([0, 1000], dtype=np.int64)
    assert linear_regression(ts, np.array([5.0, 5.0]), 0) == (0.0, 5.0)
    slope, _ = linear_regression(ts, np.array([math.inf, math.inf]), 0)
    assert math.isnan(slope)


def test_bucket_quantile_interpolates_and_fixes_monotonicity() -> None:
    buckets = [(1.0, 10.0), (2.0, 20.0), (math.inf, 20.0)]
    assert bucket_quantile(0.5, buckets) == pytest.approx(1.0)
    assert bucket_quantile(0.75, buckets) == pytest.approx(1.5)
    assert bucket_quantile(1.0, buckets) == 2.0  # in the +Inf bucket: highest finite bound
    # A non-monotonic count (noise from rate()) is flattened, not turned into nonsense.
    assert bucket_quantile(0.5, [(1.0, 10.0), (2.0, 8.0), (math.inf, 20.0)]) == pytest.approx(1.0)
    assert math.isnan(bucket_quantile(0.5, [(1.0, 1.0), (2.0, 2.0)]))  # no +Inf bucket


def test_bucket_fraction() -> None:
    buckets = [(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (math.inf, 100.0)]
    assert bucket_fraction(0, 1.5, buckets) == pytest.approx(0.02)
    assert bucket_fraction(400, math.inf, buckets) == pytest.approx(0.94)
    assert bucket_fraction(-math.inf, math.inf, buckets) == pytest.approx(1.0)


@given(st.floats(min_value=0, max_value=1), st.lists(st.integers(0, 100), min_size=1, max_size=8))
def test_bucket_quantile_stays_within_bounds(q: float, counts: list[int]) -> None:
    cumulative = np.cumsum(counts).tolist()
    bounds = [float(i + 1) for i in range(len(counts))]
    buckets = [*zip(bounds, cumulative, strict=True), (math.inf, float(cumulative[-1]))]
    result = bucket_quantile(q, buckets)
    if cumulative[-1] == 0:
        assert math.isnan(result)
    else:
        assert 0.0 <= result <= bounds[-1]


def _vec(rows: list[Labels]) -> Block:
    n = len(rows)
    return Block(rows, np.arange(n, dtype=float).reshape(n, 1), np.ones((n, 1), dtype=bool), [True] * n)


def test_label_replace_expands_groups_and_preserves_on_no_match() -> None:
    b = _vec([L(__name__="up", src="a-b"), L(__name__="up", src="zzz")])
    out = label_replace(b, "dst", "$1-${2}x$name", "src", "(\\w)-(?P<name>\\w)")
    assert out.labels[0] == L(__name__="up", src="a-b", dst="a-bxb")
    assert out.labels[1] == L(__name__="up", src="zzz")
    assert out.drop_name == [True, True]


def test_label_replace_setting_name_keeps_it() -> None:
    b = _vec([L(__name__="up", job="x")])
    out = label_replace(b, "__name__", "new_$1", "__name__", "(.*)")
    assert out.labels == [L(__name__="new_up", job="x")]
    assert out.drop_name == [False]


def test_label_replace_errors() -> None:
    b = _vec([L(a="1")])
    with pytest.raises(QueryExecutionError, match=r"label_replace\(\): error parsing regexp: missing closing \)"):
        label_replace(b, "dst", "", "src", "(.*")
    with pytest.raises(QueryExecutionError, match="invalid destination label name"):
        label_replace(b, "", "", "src", "(.*)")
    dup = _vec([L(a="1", b="x"), L(a="1", b="y")])
    with pytest.raises(QueryExecutionError, match="same labelset"):
        label_replace(dup, "b", "", "", "")


def test_label_replace_reads_go_regex_syntax() -> None:
    b = _vec([L(a="X-1")])
    out = label_replace(b, "d", "$1", "a", "((?i)x)-[[:digit:]]")
    assert out.labels == [L(a="X-1", d="X")]


def test_label_join() -> None:
    b = _vec([L(a="1", b="2")])
    assert label_join(b, "c", "-", ["a", "b", "missing"]).labels == [L(a="1", b="2", c="1-2-")]


def test_absent_labels_from_equality_matchers() -> None:
    sel = ast.VectorSelector(
        "x",
        (Matcher("__name__", "=", "x"), Matcher("job", "=", "a"), Matcher("inst", "=~", "b"),
         Matcher("dup", "=", "1"), Matcher("dup", "=", "2")),
    )
    assert absent_labels(sel) == L(job="a")


def test_date_functions_use_utc() -> None:
    times = np.array([0], dtype=np.int64)
    b = Block([()], np.array([[1136239445.0]]), np.ones((1, 1), dtype=bool), [False])
    expect = {"year": 2006, "month": 1, "day_of_month": 2, "day_of_year": 2, "day_of_week": 1,
              "hour": 22, "minute": 4, "days_in_month": 31}
    for name, want in expect.items():
        out = call_function(name, [b], CallContext(times, ()))
        assert isinstance(out, Block)
        assert out.values[0, 0] == want, name


def test_clamp_with_min_above_max_returns_nothing() -> None:
    times = np.array([0], dtype=np.int64)
    b = _vec([L(a="1")])
    out = call_function("clamp", [b, np.array([5.0]), np.array([1.0])], CallContext(times, ()))
    assert isinstance(out, Block) and len(out) == 0


def test_go_quote_shows_invalid_bytes() -> None:
    assert go_quote("a\udcc5z") == '"a\\xc5z"'


@given(
    st.lists(st.integers(0, 50), min_size=2, max_size=6),
    st.lists(st.floats(min_value=-0.5, max_value=1.5), min_size=1, max_size=4),
    st.booleans(),
)
def test_vectorised_histogram_quantile_matches_scalar(counts: list[int], qs: list[float], shuffle: bool) -> None:
    """Column-wise numpy quantiles must agree with the one-at-a-time reference."""
    # Non-monotonic on purpose sometimes (shuffle), like buckets from rate() noise.
    cumulative = counts if shuffle else np.cumsum(counts).tolist()
    bounds = [0.5 * (i + 1) for i in range(len(counts) - 1)] + [math.inf]
    labels = [L(__name__="h_bucket", le=str(b) if b != math.inf else "+Inf") for b in bounds]
    n = len(qs)
    block = Block(labels, np.array([[float(c)] * n for c in cumulative]), np.ones((len(labels), n), dtype=bool),
                  [False] * len(labels))
    out = call_function("histogram_quantile", [np.array(qs), block], CallContext(np.zeros(n, dtype=np.int64), ()))
    assert isinstance(out, Block)
    expected = [bucket_quantile(q, list(zip(bounds, map(float, cumulative), strict=True))) for q in qs]
    got = out.values[0].tolist() if len(out) else []
    assert len(got) == n
    for g, e in zip(got, expected, strict=True):
        assert (math.isnan(g) and math.isnan(e)) or g == pytest.approx(e)


def test_slow_window_loops_honour_the_deadline() -> None:
    from metricslib.errors import QueryTimeoutError

    def expired() -> None:
        raise QueryTimeoutError("query timed out in expression evaluation")

    n = 2000
    s = series([float(i % 7) for i in range(n)], step_ms=1000)
    times = np.arange(n, dtype=np.int64) * 1000
    rng = RangeArg([s], times.copy(), 10_000)
    with pytest.raises(QueryTimeoutError):
        call_function("mad_over_time", [rng], CallContext(times, (), check=expired))


def test_sort_by_label_uses_natural_order() -> None:
    rows = [L(cpu="10"), L(cpu="2"), L(cpu="1")]
    b = Block(rows, np.zeros((3, 1)), np.ones((3, 1), dtype=bool), [False] * 3)
    times = np.array([0], dtype=np.int64)
    out = call_function("sort_by_label", [b, "cpu"], CallContext(times, ()))
    assert isinstance(out, Block)
    assert out.labels == [L(cpu="1"), L(cpu="2"), L(cpu="10")]
    desc = call_function("sort_by_label_desc", [b, "cpu"], CallContext(times, ()))
    assert isinstance(desc, Block) and desc.labels == [L(cpu="10"), L(cpu="2"), L(cpu="1")]


def test_sort_puts_nan_last() -> None:
    rows = [L(a="nan"), L(a="2"), L(a="1")]
    b = Block(rows, np.array([[math.nan], [2.0], [1.0]]), np.ones((3, 1), dtype=bool), [False] * 3)
    times = np.array([0], dtype=np.int64)
    for name, order in (("sort", ["1", "2", "nan"]), ("sort_desc", ["2", "1", "nan"])):
        out = call_function(name, [b], CallContext(times, ()))
        assert isinstance(out, Block)
        assert [dict(lbl)["a"] for lbl in out.labels] == order


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

    s = series([float(i) for i in range(1000)], step_ms=1000)
    times = np.array([999_000], dtype=np.int64)
    rng = RangeArg([s], times.copy(), 1_000_000)
    with pytest.raises(QueryTimeoutError):
        call_function("sum_over_time", [rng], CallContext(times, (), check=expired))
