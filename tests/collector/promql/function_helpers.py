"""Shared helpers for the PromQL function tests: one series, one window, one value."""

from __future__ import annotations

import numpy as np

from metricslib.collector.model import Labels
from metricslib.collector.promql.functions import CallContext, call_function
from metricslib.collector.promql.values import Block, RangeArg, RangeSeries

__all__ = ["COUNTER", "L", "call_range", "series", "value"]


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
