"""The per-window reference implementation of range functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metricslib.collector.promql.functions import (
    CallContext,
    call_function,
    linear_regression,
)
from metricslib.collector.promql.values import RangeArg
from tests.collector.promql.function_helpers import series


def test_linear_regression_constant_series() -> None:
    ts = np.array([0, 1000], dtype=np.int64)
    assert linear_regression(ts, np.array([5.0, 5.0]), 0) == (0.0, 5.0)
    slope, _ = linear_regression(ts, np.array([math.inf, math.inf]), 0)
    assert math.isnan(slope)


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
