"""PromQL functions on float samples: :func:`call_function` dispatches every call.

Functions of instant vectors and scalars (``abs``, ``clamp``, date functions,
``sort``, ...) live here and work on whole :class:`Block` arrays at once; the
rest live in one module per family, and this module re-exports their public
names:

* :mod:`.function_context`: ``CallContext``, ``RANGE_FUNCTIONS``, ``absent_labels``;
* :mod:`.range_functions`: range-vector functions (``rate``, ``*_over_time``, ...),
  vectorised in :mod:`.range_vectorised` with the per-window reference in
  :mod:`.window_functions`;
* :mod:`.histogram`: ``histogram_quantile``/``histogram_fraction`` on classic buckets;
* :mod:`.label_functions`: ``label_replace``/``label_join``;
* :mod:`.info`: the experimental ``info()``.

Imports flow one way: this module imports the family modules, never the reverse.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from metricslib.collector.promql.function_context import (
    RANGE_FUNCTIONS,
    CallContext,
    absent_labels,
    is_range_function,
    warn_bad_quantiles,
)
from metricslib.collector.promql.histogram import (
    bucket_fraction,
    bucket_quantile,
    histogram_fraction,
    histogram_quantile,
)
from metricslib.collector.promql.info import INFO_IDENTIFYING_LABELS, info_enrich
from metricslib.collector.promql.label_functions import (
    label_join,
    label_replace,
    valid_label_name,
)
from metricslib.collector.promql.range_functions import range_function
from metricslib.collector.promql.values import Block, FloatArray
from metricslib.collector.promql.window_functions import linear_regression
from metricslib.errors import QueryExecutionError

__all__ = [
    "DATE_FUNCTIONS",
    "INFO_IDENTIFYING_LABELS",
    "RANGE_FUNCTIONS",
    "CallContext",
    "absent_labels",
    "bucket_fraction",
    "bucket_quantile",
    "call_function",
    "histogram_fraction",
    "histogram_quantile",
    "info_enrich",
    "is_range_function",
    "label_join",
    "label_replace",
    "linear_regression",
    "valid_label_name",
]


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


RANGE_FUNCTIONS["quantile_over_time"] = 1


def call_function(name: str, args: Sequence[Any], ctx: CallContext) -> Block | FloatArray:
    """Evaluate function ``name``; scalars are float arrays (one value per time)."""
    n = len(ctx.times)
    if name in RANGE_FUNCTIONS:
        return range_function(name, args, ctx)
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
