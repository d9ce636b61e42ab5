"""Range-vector functions one window at a time.

The exact reference implementation: used for the functions and inputs the
vectorised code does not cover (``mad_over_time``, NaN quantiles, ...) and
property-tested against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from metricslib.collector.promql.aggregations import _kahan_scalar, mean_of, quantile
from metricslib.collector.promql.function_context import RANGE_FUNCTIONS, CallContext
from metricslib.collector.promql.values import FloatArray, IntArray, RangeArg, RangeSeries
from metricslib.errors import QueryExecutionError

__all__ = [
    "WindowFn",
    "linear_regression",
    "series_windows",
]


def series_windows(
    name: str,
    s: RangeSeries,
    lo: IntArray,
    hi: IntArray,
    rng: RangeArg,
    args: Sequence[Any],
    ctx: CallContext,
) -> tuple[FloatArray, np.ndarray]:
    count = hi - lo
    ts, vs = s.timestamps, s.values
    if name in ("rate", "increase", "delta"):
        return _extrapolated_rate(
            ts, vs, lo, hi, rng, is_counter=name != "delta", is_rate=name == "rate"
        )
    if name == "count_over_time":
        return count.astype(np.float64), count > 0
    if name == "present_over_time":
        return np.ones(len(lo)), count > 0
    if name in ("last_over_time", "ts_of_last_over_time"):
        last = np.maximum(hi - 1, 0)
        src = ts.astype(np.float64) / 1000.0 if name.startswith("ts_") else vs
        return (src[last] if len(src) else np.zeros(len(lo))), count > 0
    if name in ("irate", "idelta"):
        ok = count >= 2
        i1 = np.where(ok, hi - 1, 0)
        i0 = np.where(ok, hi - 2, 0)
        if not len(vs):
            return np.zeros(len(lo)), ok
        last, prev = vs[i1], vs[i0]
        with np.errstate(all="ignore"):
            if name == "idelta":
                return last - prev, ok
            dv = np.where(last < prev, last, last - prev)
            dt = (ts[i1] - ts[i0]).astype(np.float64) / 1000.0
            return dv / dt, ok
    fn = _WINDOW_FUNCS[name]
    minimum = (
        2
        if name in ("deriv", "predict_linear", "double_exponential_smoothing", "holt_winters")
        else 1
    )
    out = np.zeros(len(lo))
    mask = count >= minimum
    extra = [a for i, a in enumerate(args) if i != RANGE_FUNCTIONS[name]]
    with np.errstate(all="ignore"):  # NaN/Inf arithmetic is expected, as in Go
        for done, t in enumerate(np.flatnonzero(mask)):
            if done % 512 == 511:
                ctx.check()  # per-window Python loops are where a big query spends its time
            a, b = int(lo[t]), int(hi[t])
            params = [float(x[t]) if isinstance(x, np.ndarray) else x for x in extra]
            # predict_linear extrapolates from the evaluation time itself, not the window end.
            out[t] = fn(ts[a:b], vs[a:b], int(ctx.times[t]), params)
    return out, mask


def _extrapolated_rate(
    ts: IntArray,
    vs: FloatArray,
    lo: IntArray,
    hi: IntArray,
    rng: RangeArg,
    *,
    is_counter: bool,
    is_rate: bool,
) -> tuple[FloatArray, np.ndarray]:
    """Prometheus's extrapolatedRate, for all windows of one series at once."""
    ok = (hi - lo) >= 2
    if not ok.any():
        return np.zeros(len(lo)), ok
    first_i = np.where(ok, lo, 0)
    last_i = np.where(ok, hi - 1, 0)
    first_v, last_v = vs[first_i], vs[last_i]
    with np.errstate(all="ignore"):
        result = last_v - first_v
        if is_counter and len(vs) > 1:
            # A drop means the counter restarted: add back the value before the drop.
            drops = np.concatenate([[0.0], np.where(vs[1:] < vs[:-1], vs[:-1], 0.0)])
            if drops.any():
                cum = np.cumsum(drops)
                result = result + (cum[last_i] - cum[first_i])
        first_t = ts[first_i].astype(np.float64)
        last_t = ts[last_i].astype(np.float64)
        range_start = (rng.ends - rng.range_ms).astype(np.float64)
        range_end = rng.ends.astype(np.float64)
        to_start = (first_t - range_start) / 1000.0
        to_end = (range_end - last_t) / 1000.0
        sampled = (last_t - first_t) / 1000.0
        avg_gap = sampled / np.maximum(hi - lo - 1, 1)
        threshold = avg_gap * 1.1
        to_start = np.where(to_start >= threshold, avg_gap / 2, to_start)
        if is_counter:
            to_zero = np.where(
                (result > 0) & (first_v >= 0), sampled * (first_v / result), to_start
            )
            to_start = np.where(to_zero < to_start, to_zero, to_start)
        to_end = np.where(to_end >= threshold, avg_gap / 2, to_end)
        factor = (sampled + to_start + to_end) / sampled
        if is_rate:
            factor = factor / (rng.range_ms / 1000.0)
        return result * factor, ok


WindowFn = Callable[[IntArray, FloatArray, int, list[Any]], float]


def _kahan_sum(values: FloatArray) -> float:
    total = c = 0.0
    for v in values.tolist():
        total, c = _kahan_scalar(v, total, c)
    return total + c


def _sum_over_time(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return _kahan_sum(vs)


def _avg_over_time(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return mean_of(vs.tolist())


def _min_over_time(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    with np.errstate(invalid="ignore"):
        return float(np.fmin.reduce(vs))


def _max_over_time(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    with np.errstate(invalid="ignore"):
        return float(np.fmax.reduce(vs))


def _variance(vs: FloatArray) -> float:
    count = mean = c_mean = aux = c_aux = 0.0
    for v in vs.tolist():
        count += 1
        delta = v - (mean + c_mean)
        mean, c_mean = _kahan_scalar(delta / count, mean, c_mean)
        aux, c_aux = _kahan_scalar(delta * (v - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


def _stddev(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    var = _variance(vs)
    return math.sqrt(var) if var >= 0 else math.nan  # Go: sqrt of NaN or a negative is NaN


def _stdvar(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return _variance(vs)


def _quantile_over_time(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return quantile(float(p[0]), vs)


def _mad(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    median = quantile(0.5, vs)
    return quantile(0.5, np.abs(vs - median))


def _changes(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    prev, cur = vs[:-1], vs[1:]
    same = (prev == cur) | (np.isnan(prev) & np.isnan(cur))
    return float(np.count_nonzero(~same))


def _resets(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return float(np.count_nonzero(vs[1:] < vs[:-1]))


def linear_regression(ts: IntArray, vs: FloatArray, intercept_time: int) -> tuple[float, float]:
    """Least squares like Prometheus (Kahan sums, constant series special-cased)."""
    n = 0.0
    sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = 0.0
    init_y = float(vs[0])
    const_y = True
    for t, y in zip(ts.tolist(), vs.tolist(), strict=False):
        if const_y and n > 0 and y != init_y:
            const_y = False
        n += 1
        x = (t - intercept_time) / 1e3
        sx, cx = _kahan_scalar(x, sx, cx)
        sy, cy = _kahan_scalar(y, sy, cy)
        sxy, cxy = _kahan_scalar(x * y, sxy, cxy)
        sx2, cx2 = _kahan_scalar(x * x, sx2, cx2)
    if const_y:
        if math.isinf(init_y):
            return math.nan, math.nan
        return 0.0, init_y
    sx += cx
    sy += cy
    sxy += cxy
    sx2 += cx2
    cov = sxy - sx * sy / n
    var = sx2 - sx * sx / n
    try:
        slope = cov / var
    except ZeroDivisionError:
        slope = math.nan if cov == 0 or math.isnan(cov) else math.copysign(math.inf, cov)
    intercept = sy / n - slope * sx / n
    return slope, intercept


def _deriv(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return linear_regression(ts, vs, int(ts[0]))[0]


def _predict_linear(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    slope, intercept = linear_regression(ts, vs, end)
    return slope * float(p[0]) + intercept


def _first_over_time(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return float(vs[0])


def _ts_of_first(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    return float(ts[0]) / 1000.0


def _ts_of_extreme(pick_max: bool) -> WindowFn:
    def fn(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
        best_i = 0
        best = float(vs[0])
        for i, v in enumerate(vs.tolist()):
            better = (v >= best) if pick_max else (v <= best)
            if (better or math.isnan(best)) and not math.isnan(v):
                best, best_i = v, i
        return float(ts[best_i]) / 1000.0

    return fn


def _double_exponential_smoothing(ts: IntArray, vs: FloatArray, end: int, p: list[Any]) -> float:
    sf, tf = float(p[0]), float(p[1])
    if not 0 < sf < 1:
        raise QueryExecutionError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf}")
    if not 0 < tf < 1:
        raise QueryExecutionError(f"invalid trend factor. Expected: 0 < tf < 1, got: {tf}")
    values = vs.tolist()
    s0, s1 = 0.0, values[0]
    b = values[1] - values[0]
    for i in range(1, len(values)):
        if i > 1:
            b = tf * (s1 - s0) + (1 - tf) * b
        x = sf * values[i]
        y = (1 - sf) * (s1 + b)
        s0, s1 = s1, x + y
    return float(s1)


_WINDOW_FUNCS: dict[str, WindowFn] = {
    "sum_over_time": _sum_over_time,
    "avg_over_time": _avg_over_time,
    "min_over_time": _min_over_time,
    "max_over_time": _max_over_time,
    "stddev_over_time": _stddev,
    "stdvar_over_time": _stdvar,
    "quantile_over_time": _quantile_over_time,
    "mad_over_time": _mad,
    "changes": _changes,
    "resets": _resets,
    "deriv": _deriv,
    "predict_linear": _predict_linear,
    "first_over_time": _first_over_time,
    "ts_of_first_over_time": _ts_of_first,
    "ts_of_min_over_time": _ts_of_extreme(False),
    "ts_of_max_over_time": _ts_of_extreme(True),
    "double_exponential_smoothing": _double_exponential_smoothing,
    "holt_winters": _double_exponential_smoothing,
}
