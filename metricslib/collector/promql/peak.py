"""Prometheus 2.42's count of samples held at once, for ``--query.max-samples``.

Prometheus evaluates a query step by step and refuses it when the samples it
holds at one moment exceed the limit: a selector's points stay held until the
node that reads them finishes; a node that combines its inputs step by step
(aggregation, binary operation, function without a range argument) holds, at
step ``k``, its inputs, the inputs' points of step ``k`` a second time, and its
results of steps ``1..k``; a range function holds its finished output series
plus the window of the series it is working on, one series after another; a
matrix selector's windows and a subquery's points stay held until their reader
finishes. Windows are closed ``[t - range, t]`` in 2.42, so a sample exactly at
the window's start counts.

Our evaluator computes every step at once; these helpers derive the same peak
from per-step counts (numpy over series x steps, no per-step Python loop).
"""

from __future__ import annotations

import numpy as np

from metricslib.collector.model import SeriesBatch
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.values import IntArray

__all__ = ["MIN_POINTS", "closed_from_open", "closed_window_counts", "range_call_peak", "step_invariant", "step_peak"]

#: Functions whose value depends on the evaluation time (2.42's list, and ``info``,
#: which looks its info series up at each time).
TIME_DEPENDENT = frozenset({
    "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year",
    "predict_linear", "time", "timestamp", "info",
})  # fmt: skip

#: Samples a window needs before a range function gives a point (2.42's functions).
MIN_POINTS = {
    name: 2
    for name in ("rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear", "holt_winters")
}


def step_invariant(expr: ast.Expr) -> bool:
    """Whether ``expr`` has the same value at every step (its selectors all pinned
    with ``@``, no time-dependent function), as 2.42 decides it: Prometheus then
    evaluates it at one step and repeats the result. An aggregation's parameter is
    not looked at; a subquery is decided by its own ``@``. Walked without recursion
    (a chain of thousands of ``or`` terms stays a loop)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.NumberLiteral | ast.StringLiteral):
            continue
        if isinstance(node, ast.VectorSelector | ast.SubqueryExpr):
            if node.at is None:
                return False
        elif isinstance(node, ast.MatrixSelector):
            stack.append(node.vector)
        elif isinstance(node, ast.ParenExpr | ast.UnaryExpr | ast.AggregateExpr):
            stack.append(node.expr)
        elif isinstance(node, ast.BinaryExpr):
            stack += (node.lhs, node.rhs)
        elif isinstance(node, ast.Call):
            if node.func in TIME_DEPENDENT:
                return False
            stack += node.args
        else:
            return False
    return True


def step_peak(inputs: IntArray, results: IntArray) -> int:
    """Most samples a step-by-step node holds beyond its evaluated inputs: at step ``k``
    the inputs' points of step ``k`` and the results of steps up to ``k``."""
    if not len(results):
        return 0
    return int((np.cumsum(results) + inputs).max())


def range_call_peak(counts: IntArray, need: int, done: int) -> tuple[int, int]:
    """For a range function over series in order (``counts``: closed window sizes,
    series x steps), after ``done`` output points of earlier series: the most
    samples held beyond its other arguments, and the output points it has made.

    While series ``s`` is read, the outputs of the series before it and its
    current window are held; once done, its last window and its own outputs."""
    if not counts.size:
        return done, done
    outputs = (counts >= need).sum(axis=1)
    through = done + np.cumsum(outputs)  # outputs up to and including each series
    while_reading = through - outputs + counts.max(axis=1)
    at_end = through + counts[:, -1]
    return int(max(while_reading.max(), at_end.max())), int(through[-1])


def closed_from_open(batch: SeriesBatch, ends: IntArray, range_ms: int, lo: IntArray, hi: IntArray) -> IntArray:
    """:func:`closed_window_counts` from the flat bounds ``[lo, hi)`` of the windows
    open on the left: one more where the sample before a window is at its start."""
    counts = hi - lo
    if not len(batch.timestamps):
        return counts
    # lo - 1 is -1 (the last sample) only where lo is the series' first: masked below.
    edge = batch.timestamps[lo - 1] == (ends - range_ms)[None, :]
    edge &= lo > batch.offsets[:-1, None]
    counts += edge
    return counts


def closed_window_counts(batch: SeriesBatch, ends: IntArray, range_ms: int) -> IntArray:
    """Samples in each window ``[end - range, end]`` of each series (series x times);
    ``ends`` ascending. Evenly spaced times with a range a whole number of steps take
    one counting pass over the samples; others one binary search per window."""
    grid = _grid_counts(batch, ends, range_ms)
    if grid is not None:
        return grid
    ts = batch.timestamps
    n = len(ends)
    if not len(ts) or not n:
        return np.zeros((len(batch.labels), n), dtype=np.int64)
    shifted = batch.sorted_keys(min(int(ts.min()), int(ends[0]) - range_ms), max(int(ts.max()), int(ends[-1])))
    if shifted is None:  # spans too wide to shift into int64: one search per series
        rows = [
            ts[a:b].searchsorted(ends, side="right") - ts[a:b].searchsorted(ends - range_ms, side="left")
            for a, b in zip(batch.offsets[:-1].tolist(), batch.offsets[1:].tolist(), strict=True)
        ]
        return np.array(rows, dtype=np.int64).reshape(len(batch.labels), n)
    keyed, row_shift = shifted
    hi = keyed.searchsorted(ends[None, :] + row_shift, side="right")
    hi -= keyed.searchsorted((ends - range_ms)[None, :] + row_shift, side="left")
    return hi


def _grid_counts(batch: SeriesBatch, ends: IntArray, range_ms: int) -> IntArray | None:
    """Window starts and ends on one grid ``g_j = ends[0] - range + j * step``: count
    per series the samples at or before, and strictly before, every grid time."""
    n = len(ends)
    ts = batch.timestamps
    if n < 2 or not len(ts):
        return None
    step = int(ends[1] - ends[0])
    if step <= 0 or range_ms % step or not bool((ends[1:] - ends[:-1] == step).all()):
        return None
    lag = range_ms // step
    if lag >= n:  # the grid would be mostly empty columns
        return None
    origin = int(ends[0]) - range_ms
    if max(abs(int(ts.min()) - origin), abs(int(ts.max()) - origin)) >= 2**61:
        return None
    rows = len(batch.labels)
    width = n + lag + 1  # grid indexes 0 .. n + lag - 1, and one for "after the last"
    # A sample at t is at or before g_j from j = ceil((t - g_0) / step) on; one exactly
    # on g_j is not before it. One count per (series, that j, on the grid or not):
    # key 2j + on, from t = g_0 + q * step + r as 2q + 2 - (r == 0).
    q, r = np.divmod(ts - origin, step)
    q *= 2
    q += 2
    q -= r == 0
    np.clip(q, 0, 2 * width - 1, out=q)
    q += np.arange(0, rows * 2 * width, 2 * width, dtype=np.int64).repeat(batch.sizes)
    counts = np.bincount(q, minlength=rows * 2 * width).reshape(rows, width, 2)[:, : width - 1]
    at_or_before = np.cumsum(counts.sum(axis=2), axis=1)
    # Window k is [g_k, g_{k+lag}]: at or before its end, less strictly before its start.
    out: IntArray = at_or_before[:, lag:] - at_or_before[:, :n] + counts[:, :n, 1]
    return out
