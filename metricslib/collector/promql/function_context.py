"""What every family of PromQL functions shares: the call context, which
functions take a range vector, and the labels ``absent()`` reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from metricslib.collector.model import METRIC_NAME, Labels
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.values import Annotations, FloatArray, IntArray, format_g

__all__ = [
    "KEEPS_NAME",
    "RANGE_FUNCTIONS",
    "CallContext",
    "absent_labels",
    "is_range_function",
    "warn_bad_quantiles",
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


#: Range functions whose result keeps the metric name.
KEEPS_NAME = frozenset({"last_over_time", "first_over_time"})


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


def is_range_function(name: str) -> bool:
    return name in RANGE_FUNCTIONS


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
