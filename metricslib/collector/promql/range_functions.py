"""Dispatch of range-vector functions (``rate``, ``*_over_time``, ...): the
vectorised path when it applies, else the per-window reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from metricslib.collector.model import METRIC_NAME, Labels, labels_get
from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.function_context import (
    KEEPS_NAME,
    RANGE_FUNCTIONS,
    CallContext,
    absent_labels,
    warn_bad_quantiles,
)
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.range_vectorised import vectorised_range_function
from metricslib.collector.promql.values import Block, FloatArray, RangeArg
from metricslib.collector.promql.window_functions import series_windows

__all__ = [
    "range_function",
]


_FIRST = itemgetter(0)


def _metric_names(labels: list[Labels], arg: Any) -> list[str]:
    """The distinct metric names of ``labels`` (the series ``arg`` selected) in order of
    first appearance ("" for none)."""
    while isinstance(arg, ast.ParenExpr):
        arg = arg.expr
    if isinstance(arg, ast.MatrixSelector) and labels:
        # A selector with a fixed name selects only series of that name.
        for m in arg.vector.matchers:
            if m.name == METRIC_NAME and m.op == "=":
                return [m.value]
    # Label sets are sorted, so the name is usually the first pair: the distinct first
    # pairs, gathered in C, settle it unless some series starts with another label.
    if all(labels):
        firsts = dict.fromkeys(map(_FIRST, labels))
        if all(k == METRIC_NAME for k, _ in firsts):
            return [v for _, v in firsts]
    return list(dict.fromkeys(labels_get(lbl, METRIC_NAME) for lbl in labels))


def range_function(name: str, args: Sequence[Any], ctx: CallContext) -> Block:
    idx = RANGE_FUNCTIONS[name]
    rng: RangeArg = args[idx]
    n = len(ctx.times)
    if name == "quantile_over_time":
        warn_bad_quantiles(args[0], ctx.notes)
    if name in ("rate", "increase"):
        for metric in _metric_names(rng.batch.labels, ctx.args[idx] if idx < len(ctx.args) else None):
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
    # Instant queries over few series: walking window positions costs a dozen numpy
    # calls per sample position, more than summing a few windows in plain Python.
    # Bounded in samples too, so the loop stays far below any query deadline.
    few_windows = (
        name in _SCALAR_WHEN_FEW
        and n * len(rng.batch) <= _FEW_WINDOWS
        and len(rng.batch.timestamps) <= _FEW_SAMPLES
    )
    if name in _VECTORISED and len(rng.batch) and not few_windows:
        return vectorised_range_function(name, rng, check=ctx.check)
    if name in _VECTORISED_WITH_PARAM and len(rng.batch):
        param = {"quantile_over_time": args[0], "predict_linear": args[-1]}.get(name, np.zeros(n))
        # Go sorts NaN first; the numpy quantile below does not, so windows with NaN
        # take the exact per-window path.
        if name != "quantile_over_time" or not np.isnan(rng.batch.values).any():
            return vectorised_range_function(
                name, rng, np.asarray(param, dtype=np.float64), ctx.times, ctx.check
            )
    labels: list[Labels] = []
    rows: list[FloatArray] = []
    masks: list[np.ndarray] = []
    drops: list[bool] = []
    for s in rng.series:
        lo, hi = rng.bounds(s)
        values, mask = series_windows(name, s, lo, hi, rng, args, ctx)
        if not mask.any():
            continue
        labels.append(s.labels)
        rows.append(values)
        masks.append(mask)
        drops.append(s.drop_name if name in KEEPS_NAME else True)
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


_FEW_WINDOWS = 16
_FEW_SAMPLES = 2048
_SCALAR_WHEN_FEW = frozenset({"stddev_over_time", "stdvar_over_time"})


_VECTORISED_WITH_PARAM = frozenset({"deriv", "predict_linear", "quantile_over_time"})
