"""The per-window reference implementation of range functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metricslib.collector.model import Labels
from metricslib.collector.promql.functions import (
    CallContext,
    call_function,
    linear_regression,
)
from metricslib.collector.promql.values import Block, RangeArg, RangeSeries


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
