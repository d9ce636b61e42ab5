"""Range-vector functions through call_function: rate, deltas, *_over_time, regressions."""

from __future__ import annotations

import numpy as np
import pytest

from metricslib.collector.promql.functions import (
    CallContext,
    call_function,
)
from metricslib.collector.promql.values import Block, RangeArg
from tests.collector.promql.function_helpers import L, call_range, series, value


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


@pytest.mark.parametrize("name", ["sum_over_time", "avg_over_time", "stddev_over_time", "stdvar_over_time"])
def test_few_windows_take_the_scalar_path_with_identical_results(name: str) -> None:
    # 17 evaluation times exceed the few-windows threshold (vectorised); one time
    # uses the per-window loop. Both must give the same bits for the shared time.
    rs = np.random.default_rng(7)
    s = series((rs.normal(3, 2, 200) * 1e9).tolist(), step_ms=15_000)
    times = np.arange(17, dtype=np.int64) * 60_000 + 2_000_000
    many = call_function(name, [RangeArg([s], times.copy(), 600_000)], CallContext(times, ()))
    one_time = times[-1:]
    few = call_function(name, [RangeArg([s], one_time.copy(), 600_000)], CallContext(one_time, ()))
    assert isinstance(many, Block) and isinstance(few, Block)
    assert few.values[0, 0] == many.values[0, -1]
    assert few.labels == many.labels and few.drop_name == many.drop_name
