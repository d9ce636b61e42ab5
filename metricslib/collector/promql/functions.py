"""PromQL functions on float samples.

Two families, dispatched by :func:`call_function`:

* functions of instant vectors and scalars (``abs``, ``clamp``, ``label_replace``,
  date functions, ...) work on whole :class:`Block` arrays at once;
* functions of range vectors (``rate``, ``*_over_time``, ...) see each series'
  raw samples and the window ``(end - range, end]`` of every evaluation time.
  The common ones (see ``_VECTORISED``) run over all windows of all series at
  once: one ``searchsorted`` finds every window, cumulative sums count resets
  and changes, and sums walk the window positions in order so Kahan
  compensation matches Prometheus 3. The rest (``quantile_over_time``,
  ``deriv``, ...) run a per-window loop; that loop is also the reference the
  vectorised code is property-tested against.

Also here: ``histogram_quantile``/``histogram_fraction`` on classic ``le``
buckets, ``label_replace``/``label_join`` and the experimental ``info()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metricslib.collector.model import METRIC_NAME, Labels, Matcher
from metricslib.collector.promql import ast
from metricslib.collector.promql.aggregations import _kahan_scalar, kahan_sum_inc, mean_of, quantile
from metricslib.collector.promql.regex import go_regex_error, go_regex_to_python
from metricslib.collector.promql.values import (
    Annotations,
    Block,
    FloatArray,
    IntArray,
    RangeArg,
    RangeSeries,
    format_g,
)
from metricslib.errors import QueryExecutionError

__all__ = [
    "INFO_IDENTIFYING_LABELS",
    "RANGE_FUNCTIONS",
    "CallContext",
    "call_function",
    "info_enrich",
    "is_range_function",
]


@dataclass(slots=True)
class CallContext:
    times: IntArray  # evaluation time of every column, ms
    args: tuple[ast.Expr, ...]  # the call's argument nodes (absent() reads matchers)
    sample_times: bool = False  # timestamp(): the Block already holds sample times
    notes: Annotations = field(default_factory=Annotations)
    #: raises QueryTimeoutError once the query's deadline has passed
    check: Callable[[], None] = lambda: None


def warn_bad_quantiles(q: FloatArray, notes: Annotations) -> None:
    """Prometheus warns once per query about a quantile outside [0, 1] (or NaN)."""
    for value in np.unique(q[~((q >= 0) & (q <= 1))]).tolist():
        notes.warn(f"quantile value should be between 0 and 1, got {format_g(value)}")


def _apply(block: Block, fn: Callable[[FloatArray], FloatArray], drop: bool = True) -> Block:
    with np.errstate(all="ignore"):
        values = fn(block.values)
    return Block(
        list(block.labels),
        values,
        block.present.copy(),
        [True] * len(block) if drop else list(block.drop_name),
    )


def _round(x: FloatArray, to: FloatArray) -> FloatArray:
    inv = 1.0 / to
    return np.floor(x * inv + 0.5) / inv


_MATH: dict[str, Callable[[FloatArray], FloatArray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": np.sign,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "deg": np.degrees,
    "rad": np.radians,
}


def _date_part(name: str, secs_f: FloatArray) -> FloatArray:
    finite = np.isfinite(secs_f)
    secs = np.where(finite, np.trunc(np.where(finite, secs_f, 0.0)), 0).astype(np.int64)
    dt = secs.astype("datetime64[s]")
    if name == "year":
        out = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    elif name == "month":
        out = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    elif name == "day_of_month":
        out = (dt.astype("datetime64[D]") - dt.astype("datetime64[M]")).astype(np.int64) + 1
    elif name == "day_of_year":
        out = (dt.astype("datetime64[D]") - dt.astype("datetime64[Y]")).astype(np.int64) + 1
    elif name == "day_of_week":
        out = (secs // 86400 + 4) % 7
    elif name == "hour":
        out = (secs // 3600) % 24
    elif name == "minute":
        out = (secs // 60) % 60
    elif name == "days_in_month":
        m = dt.astype("datetime64[M]")
        out = ((m + 1).astype("datetime64[D]") - m.astype("datetime64[D]")).astype(np.int64)
    else:  # pragma: no cover - the table below only routes known names here
        raise QueryExecutionError(f"unknown date function {name}")
    return np.where(finite, out.astype(np.float64), np.nan)


DATE_FUNCTIONS = frozenset(
    {
        "year",
        "month",
        "day_of_month",
        "day_of_year",
        "day_of_week",
        "hour",
        "minute",
        "days_in_month",
    }
)

#: Functions that take a range vector, and which argument it is.
RANGE_FUNCTIONS: dict[str, int] = {
    name: 0
    for name in (
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "predict_linear",
        "resets",
        "changes",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "first_over_time",
        "present_over_time",
        "absent_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "mad_over_time",
        "ts_of_min_over_time",
        "ts_of_max_over_time",
        "ts_of_last_over_time",
        "ts_of_first_over_time",
        "double_exponential_smoothing",
        "holt_winters",
    )
}
RANGE_FUNCTIONS["quantile_over_time"] = 1


def is_range_function(name: str) -> bool:
    return name in RANGE_FUNCTIONS


def call_function(name: str, args: Sequence[Any], ctx: CallContext) -> Block | FloatArray:
    """Evaluate function ``name``; scalars are float arrays (one value per time)."""
    n = len(ctx.times)
    if name in RANGE_FUNCTIONS:
        return _range_function(name, args, ctx)
    if name in _MATH:
        return _apply(args[0], _MATH[name])
    if name in DATE_FUNCTIONS:
        if not args:
            secs = ctx.times.astype(np.float64) / 1000.0
            return Block(
                [()], _date_part(name, secs)[None, :], np.ones((1, n), dtype=bool), [False]
            )
        return _apply(args[0], lambda v: _date_part(name, v))
    if name == "time":
        return ctx.times.astype(np.float64) / 1000.0
    if name == "pi":
        return np.full(n, math.pi)
    if name == "vector":
        return Block(
            [()],
            np.asarray(args[0], dtype=np.float64)[None, :].copy(),
            np.ones((1, n), dtype=bool),
            [False],
        )
    if name == "scalar":
        block: Block = args[0]
        counts = block.present.sum(axis=0)
        picked = (
            np.where(block.present, block.values, 0.0).sum(axis=0) if len(block) else np.zeros(n)
        )
        return np.where(counts == 1, picked, np.nan)
    if name == "timestamp":
        block = args[0]
        if ctx.sample_times:
            return Block(list(block.labels), block.values, block.present, [True] * len(block))
        secs = np.broadcast_to(ctx.times.astype(np.float64) / 1000.0, block.values.shape).copy()
        return Block(list(block.labels), secs, block.present.copy(), [True] * len(block))
    if name == "round":
        to = args[1] if len(args) > 1 else np.ones(n)
        return _apply(args[0], lambda v: _round(v, to))
    if name in ("clamp", "clamp_min", "clamp_max"):
        return _clamp(name, args)
    if name in ("sort", "sort_desc", "sort_by_label", "sort_by_label_desc"):
        return _sort(name, args)
    if name == "absent":
        block = args[0]
        missing = np.asarray(~block.present.any(axis=0)) if len(block) else np.ones(n, dtype=bool)
        return Block(
            [absent_labels(ctx.args[0])], np.ones((1, n)), missing.reshape(1, n), [False]
        ).compact()
    if name == "label_replace":
        return label_replace(args[0], args[1], args[2], args[3], args[4])
    if name == "label_join":
        return label_join(args[0], args[1], args[2], list(args[3:]))
    if name == "histogram_quantile":
        warn_bad_quantiles(args[0], ctx.notes)
        return histogram_quantile(args[0], args[1], ctx.notes)
    if name == "histogram_fraction":
        return histogram_fraction(args[0], args[1], args[2], ctx.notes)
    if name.startswith("histogram_"):
        # Native-histogram functions ignore float samples entirely.
        return Block.empty(n)
    raise QueryExecutionError(f"function {name!r} is not supported")


def _clamp(name: str, args: Sequence[Any]) -> Block:
    block: Block = args[0]
    if name == "clamp":
        lo, hi = args[1], args[2]
        # Go's math.Max/Min propagate NaN, as np.maximum/np.minimum do; min > max yields nothing.
        out = _apply(block, lambda v: np.maximum(lo, np.minimum(hi, v)))
        with np.errstate(invalid="ignore"):
            out.present = block.present & ~(lo > hi)
        return out.compact()
    bound = args[1]
    if name == "clamp_min":
        return _apply(block, lambda v: np.maximum(v, bound))
    return _apply(block, lambda v: np.minimum(v, bound))


def _sort(name: str, args: Sequence[Any]) -> Block:
    block: Block = args[0]
    if name.startswith("sort_by_label"):
        names: list[str] = list(args[1:])

        def label_key(i: int) -> tuple[Any, ...]:
            d = dict(block.labels[i])
            return (*(_natural(d.get(k, "")) for k in names), block.labels[i])

        order = sorted(range(len(block)), key=label_key, reverse=name.endswith("_desc"))
        return Block(list(block.labels), block.values, block.present, list(block.drop_name)).take(
            order
        )
    col = block.values[:, 0] if block.n_times else np.zeros(len(block))
    desc = name == "sort_desc"

    def key(i: int) -> tuple[int, float]:
        v = float(col[i])
        if math.isnan(v):
            return (1, 0.0)  # NaN sorts last either way
        return (0, -v if desc else v)

    order = sorted(range(len(block)), key=key)
    return block.take(order)


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """Natural order: digit runs compare as numbers, so "cpu2" < "cpu10"."""
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part)
        for part in re.findall(r"\d+|\D+", text)
    )


def absent_labels(expr: ast.Expr) -> Labels:
    """Labels absent()/absent_over_time() report: the selector's equality matchers."""
    while isinstance(expr, ast.ParenExpr):
        expr = expr.expr
    if isinstance(expr, ast.MatrixSelector):
        expr = expr.vector
    if not isinstance(expr, ast.VectorSelector):
        return ()
    out: dict[str, str] = {}
    seen: set[str] = set()
    for m in expr.matchers:
        if m.name == METRIC_NAME:
            continue
        if m.op == "=" and m.name not in seen:
            out[m.name] = m.value
            seen.add(m.name)
        else:
            out.pop(m.name, None)
            seen.add(m.name)
    return tuple(sorted((k, v) for k, v in out.items() if v))


# --- range-vector functions ------------------------------------------------------------------

_KEEPS_NAME = frozenset({"last_over_time", "first_over_time"})


def _range_function(name: str, args: Sequence[Any], ctx: CallContext) -> Block:
    idx = RANGE_FUNCTIONS[name]
    rng: RangeArg = args[idx]
    n = len(ctx.times)
    if name == "quantile_over_time":
        warn_bad_quantiles(args[0], ctx.notes)
    if name in ("rate", "increase"):
        for s in rng.series:
            metric = dict(s.labels).get(METRIC_NAME, "")
            if metric and not metric.endswith(("_total", "_sum", "_count", "_bucket")):
                ctx.notes.info(
                    "metric might not be a counter, name does not end in "
                    f"_total/_sum/_count/_bucket: {go_quote(metric)}"
                )
    if name == "absent_over_time":
        any_present = np.zeros(n, dtype=bool)
        for s in rng.series:
            lo, hi = rng.bounds(s)
            any_present |= hi > lo
        return Block(
            [absent_labels(ctx.args[0])], np.ones((1, n)), ~any_present[None, :], [False]
        ).compact()
    if name in _VECTORISED and rng.series:
        return _vectorised_range_function(name, rng, check=ctx.check)
    if name in _VECTORISED_WITH_PARAM and rng.series:
        param = {"quantile_over_time": args[0], "predict_linear": args[-1]}.get(name, np.zeros(n))
        # Go sorts NaN first; the numpy quantile below does not, so windows with NaN
        # take the exact per-window path.
        if name != "quantile_over_time" or not any(np.isnan(s.values).any() for s in rng.series):
            return _vectorised_range_function(
                name, rng, np.asarray(param, dtype=np.float64), ctx.times, ctx.check
            )
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    masks: list[np.ndarray] = []
    drops: list[bool] = []
    for s in rng.series:
        lo, hi = rng.bounds(s)
        values, mask = _series_windows(name, s, lo, hi, rng, args, ctx)
        if not mask.any():
            continue
        labels.append(s.labels)
        rows.append(values)
        masks.append(mask)
        drops.append(s.drop_name if name in _KEEPS_NAME else True)
    if not labels:
        return Block.empty(n)
    return Block(labels, np.array(rows), np.array(masks), drops)


_VECTORISED = frozenset(
    {
        "rate",
        "increase",
        "delta",
        "irate",
        "idelta",
        "count_over_time",
        "present_over_time",
        "last_over_time",
        "ts_of_last_over_time",
        "sum_over_time",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "changes",
        "resets",
    }
)


_VECTORISED_WITH_PARAM = frozenset({"deriv", "predict_linear", "quantile_over_time"})


def _vectorised_range_function(
    name: str, rng: RangeArg, param: FloatArray | None = None, times: IntArray | None = None,
    check: Callable[[], None] = lambda: None,
) -> Block:
    """All series and all windows at once.

    Series are concatenated into one flat array; ``lo``/``hi`` (series x times)
    index each window in it. Sums run one window position at a time across all
    windows together, so Kahan compensation happens in the same order as in
    Prometheus while numpy does the work.
    """
    vals = np.concatenate([s.values for s in rng.series])
    ts = np.concatenate([s.timestamps for s in rng.series])
    sizes = np.array([len(s.values) for s in rng.series])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    starts = np.zeros(len(vals), dtype=bool)
    starts[first] = True
    # One searchsorted for every window of every series: shifting series k by k * span
    # makes the concatenated timestamps one sorted array.
    low = int(min(ts.min(), int(rng.ends.min()) - rng.range_ms))
    span = int(max(ts.max(), int(rng.ends.max()))) - low + 1
    if span * len(sizes) < 2**62:
        shift = (np.repeat(np.arange(len(sizes), dtype=np.int64), sizes) * span) - low
        keyed = ts + shift
        row_shift = (np.arange(len(sizes), dtype=np.int64) * span - low)[:, None]
        lo2 = np.searchsorted(keyed, (rng.ends - rng.range_ms)[None, :] + row_shift, side="right")
        hi2 = np.searchsorted(keyed, rng.ends[None, :] + row_shift, side="right")
    else:  # pragma: no cover - needs absurd time spans
        bounds = [rng.bounds(s) for s in rng.series]
        lo2 = np.array([b[0] for b in bounds]) + first[:, None]
        hi2 = np.array([b[1] for b in bounds]) + first[:, None]
    count = hi2 - lo2
    last_i = np.maximum(hi2 - 1, 0)
    with np.errstate(all="ignore"):
        if name in ("rate", "increase", "delta"):
            values, mask = _flat_rate(vals, ts, starts, lo2, hi2, rng, name)
        elif name == "count_over_time":
            values, mask = count.astype(np.float64), count > 0
        elif name == "present_over_time":
            values, mask = np.ones(count.shape), count > 0
        elif name == "last_over_time":
            values, mask = vals[last_i], count > 0
        elif name == "ts_of_last_over_time":
            values, mask = ts[last_i].astype(np.float64) / 1000.0, count > 0
        elif name in ("irate", "idelta"):
            mask = count >= 2
            i1, i0 = last_i, np.maximum(hi2 - 2, 0)
            last, prev = vals[i1], vals[i0]
            if name == "idelta":
                values = last - prev
            else:
                dt = (ts[i1] - ts[i0]).astype(np.float64) / 1000.0
                values = np.where(last < prev, last, last - prev) / dt
        elif name in ("changes", "resets"):
            prev = np.concatenate([[np.nan], vals[:-1]])
            if name == "changes":
                flag = ~((vals == prev) | (np.isnan(vals) & np.isnan(prev)))
            else:
                flag = vals < prev
            flag &= ~starts
            cum = np.concatenate([[0], np.cumsum(flag)])
            # Flags at positions lo+1 .. hi-1 compare samples inside the window.
            first = np.minimum(lo2 + 1, len(vals))
            values = (cum[np.maximum(hi2, first)] - cum[first]).astype(np.float64)
            mask = count > 0
        elif name in ("deriv", "predict_linear"):
            assert param is not None and times is not None
            values, mask = _flat_regression(name, vals, ts, lo2, hi2, count, times, param, check)
        elif name == "quantile_over_time":
            assert param is not None
            values, mask = _flat_quantile(vals, lo2, hi2, count, param)
        else:
            values, mask = _flat_over_time(name, vals, lo2, hi2, count, check)
    keep = np.flatnonzero(mask.any(axis=1))
    drop = name not in _KEEPS_NAME
    return Block(
        [rng.series[i].labels for i in keep],
        values[keep],
        mask[keep],
        [True if drop else rng.series[i].drop_name for i in keep],
    )


def _flat_rate(
    vals: FloatArray,
    ts: IntArray,
    starts: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: RangeArg,
    name: str,
) -> tuple[FloatArray, np.ndarray]:
    """Prometheus's extrapolatedRate for every window of every series."""
    ok = (hi - lo) >= 2
    first_i = np.where(ok, lo, 0)
    last_i = np.where(ok, hi - 1, 0)
    first_v, last_v = vals[first_i], vals[last_i]
    result = last_v - first_v
    is_counter = name != "delta"
    if is_counter and len(vals) > 1:
        # A drop means the counter restarted: add back the value before the drop.
        prev = np.concatenate([[0.0], vals[:-1]])
        drops = np.where((vals < prev) & ~starts, prev, 0.0)
        if drops.any():
            cum = np.cumsum(drops)
            result = result + (cum[last_i] - cum[first_i])
    first_t = ts[first_i].astype(np.float64)
    last_t = ts[last_i].astype(np.float64)
    range_end = rng.ends.astype(np.float64)[None, :]
    range_start = range_end - rng.range_ms
    to_start = (first_t - range_start) / 1000.0
    to_end = (range_end - last_t) / 1000.0
    sampled = (last_t - first_t) / 1000.0
    avg_gap = sampled / np.maximum(hi - lo - 1, 1)
    threshold = avg_gap * 1.1
    to_start = np.where(to_start >= threshold, avg_gap / 2, to_start)
    if is_counter:
        to_zero = np.where((result > 0) & (first_v >= 0), sampled * (first_v / result), to_start)
        to_start = np.where(to_zero < to_start, to_zero, to_start)
    to_end = np.where(to_end >= threshold, avg_gap / 2, to_end)
    factor = (sampled + to_start + to_end) / sampled
    if name == "rate":
        factor = factor / (rng.range_ms / 1000.0)
    return result * factor, ok


def _flat_over_time(
    name: str, vals: FloatArray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray,
    check: Callable[[], None] = lambda: None,
) -> tuple[FloatArray, np.ndarray]:
    mask = count > 0
    width = int(count.max()) if count.size else 0
    last = len(vals) - 1
    shape = count.shape
    if name in ("min_over_time", "max_over_time"):
        acc = np.full(shape, np.nan)
        reduce = np.fmin if name == "min_over_time" else np.fmax
        for j in range(width):
            if j % 256 == 255:
                check()  # very wide windows: stay within the query's time limit
            idx = lo + j
            inside = idx < hi
            acc = np.where(inside, reduce(acc, vals[np.minimum(idx, last)]), acc)
        return acc, mask
    if name in ("sum_over_time", "avg_over_time"):
        total = np.zeros(shape)
        comp = np.zeros(shape)
        for j in range(width):
            if j % 256 == 255:
                check()  # very wide windows: stay within the query's time limit
            idx = lo + j
            inside = idx < hi
            t, c = kahan_sum_inc(np.where(inside, vals[np.minimum(idx, last)], 0.0), total, comp)
            total = np.where(inside, t, total)
            comp = np.where(inside, c, comp)
        if name == "sum_over_time":
            return total + comp, mask
        result = (total + comp) / np.where(mask, count, 1)
        # An overflowing sum needs Prometheus's incremental mean: rare, done window by window.
        for r, t in zip(*np.nonzero(np.isinf(total) & mask), strict=True):
            result[r, t] = mean_of(vals[lo[r, t] : hi[r, t]].tolist())
        return result, mask
    # stddev/stdvar: Welford with Kahan-compensated mean and sum of squares.
    n = np.zeros(shape)
    mean = np.zeros(shape)
    c_mean = np.zeros(shape)
    aux = np.zeros(shape)
    c_aux = np.zeros(shape)
    for j in range(width):
        if j % 256 == 255:
            check()
        idx = lo + j
        inside = idx < hi
        v = vals[np.minimum(idx, last)]
        n2 = n + inside
        delta = v - (mean + c_mean)
        m2, cm2 = kahan_sum_inc(delta / np.where(inside, n2, 1), mean, c_mean)
        a2, ca2 = kahan_sum_inc(delta * (v - (m2 + cm2)), aux, c_aux)
        mean = np.where(inside, m2, mean)
        c_mean = np.where(inside, cm2, c_mean)
        aux = np.where(inside, a2, aux)
        c_aux = np.where(inside, ca2, c_aux)
        n = n2
    var = (aux + c_aux) / np.where(mask, n, 1)
    return (np.sqrt(var) if name == "stddev_over_time" else var), mask


def _flat_regression(
    name: str, vals: FloatArray, ts: IntArray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray,
    times: IntArray, duration: FloatArray, check: Callable[[], None] = lambda: None,
) -> tuple[FloatArray, np.ndarray]:
    """Prometheus's linearRegression (Kahan-compensated sums) for every window at once."""
    mask = count >= 2
    shape = count.shape
    last = len(vals) - 1
    first_i = np.minimum(lo, last)
    first_v = vals[first_i]
    # deriv measures x from the window's first sample, predict_linear from the eval time.
    origin = ts[first_i] if name == "deriv" else np.broadcast_to(times[None, :], shape)
    sums = [np.zeros(shape) for _ in range(4)]  # x, y, xy, x^2
    comps = [np.zeros(shape) for _ in range(4)]
    constant = np.ones(shape, dtype=bool)
    for j in range(int(count.max())):
        if j % 256 == 255:
            check()
        idx = lo + j
        inside = idx < hi
        k = np.minimum(idx, last)
        y = vals[k]
        x = (ts[k] - origin) / 1e3
        if j:
            constant &= ~inside | (y == first_v)
        for slot, inc in enumerate((x, y, x * y, x * x)):
            t, c = kahan_sum_inc(np.where(inside, inc, 0.0), sums[slot], comps[slot])
            sums[slot] = np.where(inside, t, sums[slot])
            comps[slot] = np.where(inside, c, comps[slot])
    sx, sy, sxy, sx2 = (s + c for s, c in zip(sums, comps, strict=True))
    n = count.astype(np.float64)
    slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n)
    intercept = sy / n - slope * sx / n
    slope = np.where(constant, np.where(np.isinf(first_v), np.nan, 0.0), slope)
    intercept = np.where(constant, np.where(np.isinf(first_v), np.nan, first_v), intercept)
    if name == "deriv":
        return slope, mask
    return slope * duration[None, :] + intercept, mask


def _flat_quantile(
    vals: FloatArray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray, q: FloatArray
) -> tuple[FloatArray, np.ndarray]:
    """quantile_over_time for NaN-free windows: sort every window at once (in row chunks,
    so a window matrix stays a few million values)."""
    mask = count >= 1
    width = int(count.max())
    if width == 0:
        return np.full(count.shape, np.nan), mask
    last = len(vals) - 1
    out = np.empty(count.shape)
    rows_per_chunk = max(1, 4_000_000 // max(1, width * count.shape[1]))
    for start in range(0, count.shape[0], rows_per_chunk):
        clo, chi = lo[start : start + rows_per_chunk], hi[start : start + rows_per_chunk]
        idx = clo[:, :, None] + np.arange(width)[None, None, :]
        windows = np.where(idx < chi[:, :, None], vals[np.minimum(idx, last)], np.inf)
        windows.sort(axis=2)
        n = (chi - clo).astype(np.float64)
        rank = q[None, :] * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        low_v = np.take_along_axis(windows, np.clip(lower, 0, width - 1).astype(np.intp)[:, :, None], 2)[:, :, 0]
        up_v = np.take_along_axis(windows, np.clip(upper, 0, width - 1).astype(np.intp)[:, :, None], 2)[:, :, 0]
        out[start : start + rows_per_chunk] = low_v * (1 - weight) + up_v * weight
    out = np.where(q[None, :] < 0, -np.inf, np.where(q[None, :] > 1, np.inf, out))
    return np.where(np.isnan(q)[None, :], np.nan, out), mask


def _series_windows(
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


# --- info() (experimental) --------------------------------------------------------------------

INFO_IDENTIFYING_LABELS = ("instance", "job")


def info_enrich(
    base: Block, infos: Block, info_sample_times: FloatArray, name_matchers: Sequence[Matcher],
    data_matchers: Sequence[Matcher],
) -> Block:
    """Add to each base series, at each time, the data labels of the info series that share
    its identifying labels. Among several info series of one metric for the same identity,
    the one with the newest sample wins. A data matcher that rejects "" drops base samples
    it finds no match for; info series themselves pass through unchanged."""
    n = base.n_times
    wanted = {m.name for m in data_matchers}
    by_identity: dict[tuple[str, ...], list[int]] = {}
    for i, lbl in enumerate(infos.labels):
        d = dict(lbl)
        by_identity.setdefault(tuple(d.get(k, "") for k in INFO_IDENTIFYING_LABELS), []).append(i)
    out_labels: list[Labels] = []
    out_rows: list[int] = []
    out_masks: list[np.ndarray] = []
    for b, lbl in enumerate(base.labels):
        d = dict(lbl)
        if all(m.matches(d.get(m.name, "")) for m in name_matchers):
            out_labels.append(lbl)
            out_rows.append(b)
            out_masks.append(base.present[b])
            continue
        candidates = by_identity.get(tuple(d.get(k, "") for k in INFO_IDENTIFYING_LABELS), [])
        variants: dict[Labels, np.ndarray] = {}
        for t in np.flatnonzero(base.present[b]):
            newest: dict[str, int] = {}
            for i in candidates:
                if not infos.present[i, t]:
                    continue
                metric = dict(infos.labels[i]).get(METRIC_NAME, "")
                j = newest.get(metric)
                if j is None or info_sample_times[i, t] > info_sample_times[j, t]:
                    newest[metric] = i
            extra: dict[str, str] = {}
            for i in newest.values():
                for k, v in infos.labels[i]:
                    if k == METRIC_NAME or k in INFO_IDENTIFYING_LABELS or k in d:
                        continue
                    if wanted and k not in wanted:
                        continue
                    extra.setdefault(k, v)
            if not all(m.matches(extra.get(m.name, d.get(m.name, ""))) for m in data_matchers):
                continue
            key = tuple(sorted({**d, **extra}.items()))
            mask = variants.get(key)
            if mask is None:
                mask = variants[key] = np.zeros(n, dtype=bool)
            mask[t] = True
        for key, mask in variants.items():
            out_labels.append(key)
            out_rows.append(b)
            out_masks.append(mask)
    if not out_labels:
        return Block.empty(n)
    rows = np.asarray(out_rows, dtype=np.intp)
    return Block(out_labels, base.values[rows], np.array(out_masks),
                 [base.drop_name[r] for r in out_rows]).consolidate()


# --- label manipulation -------------------------------------------------------------------

_GO_TEMPLATE = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.ExpandString``: ``$1``, ``${1}``, ``$name``; unknown groups expand to ""."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(2)
        try:
            value = match.group(int(name)) if name.isdigit() else match.group(name)
        except error_types:
            return ""
        return value or ""

    return _GO_TEMPLATE.sub(sub, template)


error_types = (IndexError, KeyError, re.error)


def go_quote(text: str) -> str:
    """Go's %q: invalid UTF-8 bytes (kept by the lexer as surrogate escapes) print as \\xNN."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def valid_label_name(name: str) -> bool:
    # Prometheus 3 accepts any valid UTF-8 label name that is not empty.
    if not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _relabel(block: Block, rows: list[tuple[Labels, bool]]) -> Block:
    out = Block(
        [lbl for lbl, _ in rows],
        block.values.copy(),
        block.present.copy(),
        [drop for _, drop in rows],
    )
    return out.consolidate()


def _set_label(labels: Labels, name: str, value: str) -> Labels:
    d = dict(labels)
    if value:
        d[name] = value
    else:
        d.pop(name, None)
    return tuple(sorted(d.items()))


def label_replace(block: Block, dst: str, repl: str, src: str, regex: str) -> Block:
    try:
        # Prometheus anchors the regex and reads it as Go's RE2 does.
        pattern = re.compile(f"(?s:{go_regex_to_python(regex)})")
    except re.error as exc:
        raise QueryExecutionError(
            "invalid regular expression in label_replace(): error parsing regexp: "
            + go_regex_error(regex, exc)
        ) from exc
    if not valid_label_name(dst):
        raise QueryExecutionError(f"invalid destination label name in label_replace(): {dst}")
    rows: list[tuple[Labels, bool]] = []
    for lbl, drop in zip(block.labels, block.drop_name, strict=False):
        m = pattern.fullmatch(dict(lbl).get(src, ""))
        if m is None:
            rows.append((lbl, drop))
            continue
        rows.append((_set_label(lbl, dst, _expand(repl, m)), drop and dst != METRIC_NAME))
    return _relabel(block, rows)


def label_join(block: Block, dst: str, sep: str, srcs: list[str]) -> Block:
    if not valid_label_name(dst):
        raise QueryExecutionError(f"invalid destination label name in label_join(): {dst}")
    rows: list[tuple[Labels, bool]] = []
    for lbl, drop in zip(block.labels, block.drop_name, strict=False):
        d = dict(lbl)
        value = sep.join(d.get(s, "") for s in srcs)
        rows.append((_set_label(lbl, dst, value), drop and dst != METRIC_NAME))
    return _relabel(block, rows)


# --- histogram_quantile on classic buckets ------------------------------------------------------

_SMALL_DELTA = 1e-12
_MIN_NORMAL = 2.2250738585072014e-308


def _almost_equal(a: float, b: float, eps: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < eps * _MIN_NORMAL
    return diff / min(abs_sum, 1.7976931348623157e308) < eps


def _prepare_buckets(
    buckets: list[tuple[float, float]], forced: list[bool] | None = None
) -> list[list[float]] | None:
    """Sort, merge equal bounds and force monotonic counts; None without a +Inf bucket.

    ``forced`` (if given) gets True appended when a real decrease had to be flattened."""
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return None
    merged: list[list[float]] = []
    for ub, count in buckets:
        if merged and merged[-1][0] == ub:
            merged[-1][1] += count
        else:
            merged.append([ub, count])
    # Force monotonic counts: ignore tiny float noise, flatten real decreases.
    prev = merged[0][1]
    for b in merged[1:]:
        cur = b[1]
        if cur == prev:
            continue
        if _almost_equal(prev, cur, _SMALL_DELTA):
            b[1] = prev
            continue
        if cur < prev:
            b[1] = prev
            if forced is not None:
                forced.append(True)
            continue
        prev = cur
    return merged


def bucket_quantile(
    q: float, buckets: list[tuple[float, float]], forced: list[bool] | None = None
) -> float:
    """Prometheus's BucketQuantile: (upper bound, cumulative count) pairs in any order."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    prepared = _prepare_buckets(buckets, forced)
    if prepared is None or len(prepared) < 2:
        return math.nan
    merged = prepared
    observations = merged[-1][1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    idx = len(merged) - 1
    for i in range(len(merged) - 1):
        if merged[i][1] >= rank:
            idx = i
            break
    if idx == len(merged) - 1:
        return merged[-2][0]
    if idx == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start = 0.0
    end, count = merged[idx]
    if idx > 0:
        start = merged[idx - 1][0]
        count -= merged[idx - 1][1]
        rank -= merged[idx - 1][1]
    return start + (end - start) * go_div(rank, count)


def go_div(a: float, b: float) -> float:
    """Float division as in Go: x/0 is ±Inf and 0/0 is NaN instead of an exception."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def bucket_fraction(lower: float, upper: float, buckets: list[tuple[float, float]]) -> float:
    """Estimated share of observations in [lower, upper]; no interpolation in infinite buckets."""
    merged = _prepare_buckets(buckets)
    if merged is None:
        return math.nan
    total = merged[-1][1]
    if total == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0

    def rank(v: float) -> float:
        prev_count = 0.0
        for i, (ub, count) in enumerate(merged):
            lb = merged[i - 1][0] if i else (0.0 if ub > 0 else -math.inf)
            if v <= lb:
                return prev_count
            if v < ub:
                if math.isinf(lb):
                    return count
                if math.isinf(ub):
                    return prev_count
                return prev_count + (count - prev_count) * (v - lb) / (ub - lb)
            prev_count = count
        return total

    return (rank(upper) - rank(lower)) / total


def _parse_le(value: str) -> float | None:
    try:
        return float(value.replace("_", "x") if "_" in value else value)
    except ValueError:
        return None


def histogram_quantile(q: FloatArray, block: Block, notes: Annotations | None = None) -> Block:
    notes = notes if notes is not None else Annotations()

    def fixed_info(name: str) -> None:
        notes.info(
            "input to histogram_quantile needed to be fixed for monotonicity (see "
            "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) "
            f"for metric name {go_quote(name)}"
        )

    def one(t: int, buckets: list[tuple[float, float]], name: str) -> float:
        forced: list[bool] = []
        result = bucket_quantile(float(q[t]), buckets, forced)
        if forced:
            fixed_info(name)
        return result

    def columns(bounds: FloatArray, counts: FloatArray, cols: IntArray, name: str) -> FloatArray:
        with np.errstate(all="ignore"):
            result, forced = _quantile_columns(q[cols], bounds, counts)
        if forced:
            fixed_info(name)
        return result

    return _per_histogram(block, one, notes, columns)


def histogram_fraction(
    lower: FloatArray, upper: FloatArray, block: Block, notes: Annotations | None = None
) -> Block:
    return _per_histogram(
        block,
        lambda t, buckets, _: bucket_fraction(float(lower[t]), float(upper[t]), buckets),
        notes if notes is not None else Annotations(),
    )


ColumnsFn = Callable[[FloatArray, FloatArray, IntArray, str], FloatArray]


def _almost_equal_columns(a: FloatArray, b: FloatArray, eps: float) -> np.ndarray:
    abs_sum = np.abs(a) + np.abs(b)
    diff = np.abs(a - b)
    small = (a == 0) | (b == 0) | (abs_sum < _MIN_NORMAL)
    close = np.where(small, diff < eps * _MIN_NORMAL, diff / np.minimum(abs_sum, 1.7976931348623157e308) < eps)
    return np.asarray((np.isnan(a) & np.isnan(b)) | (a == b) | close)


def _monotonic_columns(counts: FloatArray) -> tuple[FloatArray, bool]:
    """ensureMonotonicAndIgnoreSmallDeltas for every column at once (rows sorted by le)."""
    counts = counts.copy()
    prev = counts[0].copy()
    forced = False
    for i in range(1, counts.shape[0]):
        cur = counts[i]
        same = cur == prev
        almost = _almost_equal_columns(prev, cur, _SMALL_DELTA) & ~same
        down = (cur < prev) & ~same & ~almost
        forced = forced or bool(down.any())
        fix = almost | down
        counts[i] = np.where(fix, prev, cur)
        prev = np.where(same | fix, prev, cur)
    return counts, forced


def _quantile_columns(q: FloatArray, bounds: FloatArray, counts: FloatArray) -> tuple[FloatArray, bool]:
    """BucketQuantile for every column of ``counts`` (buckets x times, sorted, unique, +Inf last)."""
    counts, forced = _monotonic_columns(counts)
    n_buckets = len(bounds)
    total = counts[-1]
    rank = q * total
    ge = counts[:-1] >= rank
    b = np.where(ge.any(axis=0), ge.argmax(axis=0), n_buckets - 1)
    cols = np.arange(counts.shape[1])
    below = np.where(b > 0, counts[np.maximum(b - 1, 0), cols], 0.0)
    start = np.where(b > 0, bounds[np.maximum(b - 1, 0)], 0.0)
    end = bounds[np.minimum(b, n_buckets - 1)]
    out = start + (end - start) * ((rank - below) / (counts[np.minimum(b, n_buckets - 1), cols] - below))
    out = np.where(b == n_buckets - 1, bounds[n_buckets - 2], out)
    out = np.where((b == 0) & (bounds[0] <= 0), bounds[0], out)
    out = np.where((total == 0) | np.isnan(total), np.nan, out)
    out = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, out))
    return np.where(np.isnan(q), np.nan, out), forced


def _per_histogram(
    block: Block, fn: Callable[[int, list[tuple[float, float]], str], float], notes: Annotations,
    columns_fn: ColumnsFn | None = None,
) -> Block:
    """Group classic ``le`` buckets into histograms and apply ``fn`` at every time.

    The group keeps ``__name__`` (flagged for removal), so two histograms that differ
    only by name collide at the end, as in Prometheus."""
    n = block.n_times
    groups: dict[Labels, list[tuple[int, float]]] = {}
    for i, lbl in enumerate(block.labels):
        d = dict(lbl)
        raw = d.get("le", "")
        le = _parse_le(raw)
        if le is None:
            notes.warn(
                f'bucket label "le" is missing or has a malformed value of {go_quote(raw)} '
                f"for metric name {go_quote(d.get(METRIC_NAME, ''))}"
            )
            continue
        key = tuple(p for p in lbl if p[0] != "le")
        groups.setdefault(key, []).append((i, le))
    labels: list[Labels] = []
    values = np.zeros((len(groups), n))
    present = np.zeros((len(groups), n), dtype=bool)
    for g, (key, members) in enumerate(groups.items()):
        labels.append(key)
        rows = [i for i, _ in members]
        bounds = [le for _, le in members]
        mask = block.present[rows]
        todo = np.flatnonzero(mask.any(axis=0))
        order = np.argsort(bounds, kind="stable")
        sorted_bounds = np.asarray(bounds)[order]
        if (
            columns_fn is not None and len(rows) >= 2 and math.isinf(sorted_bounds[-1])
            and sorted_bounds[-1] > 0 and len(np.unique(sorted_bounds)) == len(rows)
        ):
            # The usual case: every bucket present at a time, distinct bounds: numpy per column.
            full = np.flatnonzero(mask.all(axis=0))
            if len(full):
                counts = block.values[np.asarray(rows)[order]][:, full]
                values[g, full] = columns_fn(sorted_bounds, counts, full, dict(key).get(METRIC_NAME, ""))
                present[g, full] = True
                todo = np.setdiff1d(todo, full)
        for t in todo:
            buckets = [
                (bounds[j], float(block.values[rows[j], t])) for j in range(len(rows)) if mask[j, t]
            ]
            values[g, t] = fn(int(t), buckets, dict(key).get(METRIC_NAME, ""))
            present[g, t] = True
    return Block(labels, values, present, [True] * len(labels)).compact()
