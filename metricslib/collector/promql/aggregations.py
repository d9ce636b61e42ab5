"""Aggregation operators (``sum by (job) (...)`` and friends) over every time at once.

Rows are grouped once by their label sets; each group is then reduced across
its rows with numpy, column by column (one column per evaluation time), keeping
Prometheus's float behaviour: Kahan-Neumaier summation for ``sum``/``avg``,
NaN ignored by ``min``/``max`` unless every value is NaN, Welford for
``stddev``/``stdvar``.
"""

from __future__ import annotations

import math

import numpy as np

from metricslib.collector.model import Labels
from metricslib.collector.model.value_text import format_float
from metricslib.collector.promql.grouping import IntArray, group_rows, key_function
from metricslib.collector.promql.parser.functions import AGGREGATORS
from metricslib.collector.promql.topk import go_heap_k, go_sorted_best_first, k_best_columns
from metricslib.collector.promql.values import (
    Annotations,
    Block,
    FloatArray,
    format_g,
)
from metricslib.errors import QueryExecutionError

__all__ = ["AGGREGATIONS", "aggregate", "compensated_sum", "group_key", "kahan_sum_inc", "quantile", "running_sums"]

AGGREGATIONS = AGGREGATORS  # the parser's table: one list of names

#: Values per block of ``sum``/``avg``'s compensated sums (members x groups x
#: times): each temporary then stays in a core's L2 cache (about 0.5 MB).
SUM_BLOCK_CELLS = 65_536


def kahan_sum_inc(inc: FloatArray, total: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One Kahan-Neumaier step, element-wise (Prometheus's ``kahanSumInc``).

    Callers silence numpy's float warnings around their loops: ``np.errstate``
    costs more than this whole step on small arrays."""
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    c = c + np.where(big, (total - t) + inc, (inc - t) + total)
    c = np.where(np.isinf(t), 0.0, c)
    return t, c


def running_sums(rows: FloatArray) -> tuple[FloatArray, FloatArray] | None:
    """Running sums of ``rows`` along the first axis, and the rounding error of each addition.

    ``cumsum`` adds strictly in order, so the error of every addition can be
    recovered exactly (Knuth's TwoSum); sums built from both are good to about
    one rounding of the result, like Prometheus's Kahan-Neumaier sums (the last
    bit may differ), in a handful of numpy passes instead of one per value.
    None when a value or partial sum is not finite: Prometheus's overflow and
    Inf rules then need the step-by-step sum.
    """
    prefix = np.cumsum(rows, axis=0)
    if not np.isfinite(prefix).all():
        return None
    before = np.zeros_like(prefix)
    before[1:] = prefix[:-1]
    added = prefix - before
    errors: FloatArray = (before - (prefix - added)) + (rows - added)
    return prefix, errors


def compensated_sum(rows: FloatArray) -> FloatArray | None:
    """Column sums of ``rows`` (members x columns), as accurate as a Kahan sum (see :func:`running_sums`)."""
    sums = running_sums(rows)
    if sums is None:
        return None
    prefix, errors = sums
    # "+ 0.0" turns -0.0 into +0.0, as a Kahan sum starting at +0.0 would.
    total: FloatArray = prefix[-1] + errors.sum(axis=0) + 0.0
    return total


def _kahan_scalar(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    if math.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def mean_of(values: list[float]) -> float:
    """Prometheus 3's mean: Kahan sum, switching to an incremental mean on overflow."""
    total = c = mean = 0.0
    count = 0.0
    incremental = False
    for v in values:
        count += 1
        if not incremental:
            new_total, new_c = _kahan_scalar(v, total, c)
            if count == 1 or not math.isinf(new_total):
                total, c = new_total, new_c
                continue
            incremental = True
            mean = total / (count - 1)
            c /= count - 1
        if math.isinf(mean):
            if math.isinf(v) and (mean > 0) == (v > 0):
                continue
            if not math.isinf(v) and not math.isnan(v):
                continue
        corrected = mean + c
        mean, c = _kahan_scalar(v / count - corrected / count, mean, c)
    if incremental:
        return mean + c
    return (total + c) / count


def quantile(q: float, values: list[float] | FloatArray) -> float:
    """Prometheus's ``quantile`` with linear interpolation; NaNs sort first as in Go."""
    if math.isnan(q):
        return math.nan
    n = len(values)
    if n == 0:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    arr = np.asarray(values, dtype=np.float64)
    nans = np.isnan(arr)
    ordered = np.concatenate([arr[nans], np.sort(arr[~nans])])
    rank = q * (n - 1)
    lower = max(0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    # Python floats: inf * 0 is NaN here as in Go, without numpy's warning.
    return float(ordered[lower]) * (1 - weight) + float(ordered[upper]) * weight


def group_key(labels: Labels, grouping: tuple[str, ...], without: bool) -> Labels:
    return key_function(grouping, without)(labels)


def _members(block: Block, grouping: tuple[str, ...], without: bool) -> list[IntArray]:
    """Each group's rows, in input order (the shared, remembered grouping of :func:`group_rows`)."""
    groups = group_rows(block.labels, grouping, without)
    rows = groups.rows
    return [rows[s : s + n] for s, n in zip(groups.starts.tolist(), groups.sizes.tolist(), strict=True)]


def aggregate(
    op: str,
    block: Block,
    grouping: tuple[str, ...],
    without: bool,
    param: FloatArray | str | None = None,
    notes: Annotations | None = None,
) -> Block:
    """Apply aggregation ``op``; ``param`` is k / q per time, or count_values' label."""
    if op == "quantile" and notes is not None:
        assert isinstance(param, np.ndarray)
        for bad in np.unique(param[~((param >= 0) & (param <= 1))]).tolist():
            notes.warn(f"quantile value should be between 0 and 1, got {format_g(bad)}")
    if op in ("topk", "bottomk", "limitk", "limit_ratio"):
        assert isinstance(param, np.ndarray)
        return _select_k(op, block, grouping, without, param)
    if op == "count_values":
        assert isinstance(param, str)
        return _count_values(block, grouping, without, param)
    n_times = block.n_times
    groups = group_rows(block.labels, grouping, without)
    if not groups:
        return Block.empty(n_times)
    labels = list(groups.keys)
    drop_rows = np.fromiter(block.drop_name, dtype=bool, count=len(block.drop_name))[groups.rows]
    drop = np.logical_or.reduceat(drop_rows, groups.starts).tolist()
    # Lay the groups side by side as columns: (k-th member of each group) x (group, time).
    # One pass over k then reduces every group at every time at once, and each group
    # still adds its members in input order (what Kahan summation's result depends on).
    n_groups = len(groups)
    depth = int(groups.sizes.max())
    idx = np.zeros((depth, n_groups), dtype=np.intp)
    member = np.zeros((depth, n_groups), dtype=bool)
    group_of = np.repeat(np.arange(n_groups), groups.sizes)
    position = np.arange(groups.rows.shape[0]) - np.repeat(groups.starts, groups.sizes)
    idx[position, group_of] = groups.rows
    member[position, group_of] = True
    summed = _sum_in_blocks(block, idx, member) if op in ("sum", "avg") else None
    if summed is not None:
        total, count = summed
        with np.errstate(all="ignore"):
            flat = total if op == "sum" else total / count
    else:  # other operators, and sums that overflow (Prometheus's step-by-step rules)
        vals = block.values[idx].reshape(depth, n_groups * n_times)
        mask = (block.present[idx] & member[:, :, None]).reshape(depth, n_groups * n_times)
        count = mask.sum(axis=0)
        wide_param = np.tile(param, n_groups) if isinstance(param, np.ndarray) else param
        with np.errstate(all="ignore"):
            flat = _reduce(op, vals, mask, count, wide_param)
    values = flat.reshape(n_groups, n_times)
    present = (count > 0).reshape(n_groups, n_times)
    return Block(labels, values, present, drop).compact()


def _sum_in_blocks(block: Block, idx: np.ndarray, member: np.ndarray) -> tuple[FloatArray, np.ndarray] | None:
    """:func:`compensated_sum` of the members (``idx``: k-th member x group) at every
    time, and their count, a few members at a time.

    The same additions in the same order, bit for bit: each block's running sums
    start from the previous block's last one, and its rounding errors are added
    to the errors summed so far, row after row. Blocks small enough to stay in
    the CPU cache save the passes over main memory that whole (members x groups
    x times) arrays cost. None when a running sum is not finite (see
    :func:`running_sums`)."""
    depth, n_groups = idx.shape
    width = n_groups * block.n_times
    rows_per_block = max(1, SUM_BLOCK_CELLS // max(1, width))
    count = np.zeros(width, dtype=np.int64)
    last: FloatArray | None = None  # the running sum after the previous block
    errors: FloatArray | None = None  # the rounding errors summed so far
    with np.errstate(all="ignore"):
        for a in range(0, depth, rows_per_block):
            b = min(depth, a + rows_per_block)
            mask = block.present[idx[a:b]]
            mask &= member[a:b, :, None]
            mask = mask.reshape(b - a, width)
            count += mask.sum(axis=0)
            rows = np.where(mask, block.values[idx[a:b]].reshape(b - a, width), 0.0)
            sums = running_sums(rows if last is None else np.concatenate((last[None, :], rows)))
            if sums is None:
                return None
            prefix, block_errors = sums
            if errors is not None:
                # Row 0 re-adds the previous block's last sum to zero: no error; it
                # carries the errors summed so far instead, which then come first.
                block_errors[0] = errors
            errors = block_errors.sum(axis=0)
            last = prefix[-1]
    assert last is not None and errors is not None
    # "+ 0.0" turns -0.0 into +0.0, as a Kahan sum starting at +0.0 would.
    total: FloatArray = last + errors + 0.0
    return total, count


def _reduce(
    op: str, vals: FloatArray, mask: np.ndarray, count: np.ndarray, param: FloatArray | str | None
) -> FloatArray:
    n_times = vals.shape[1]
    if op in ("count", "group"):
        return count.astype(np.float64) if op == "count" else np.ones(n_times)
    if op in ("sum", "avg"):
        exact = compensated_sum(np.where(mask, vals, 0.0))
        if exact is not None:
            return exact if op == "sum" else exact / count
        total = np.zeros(n_times)
        c = np.zeros(n_times)
        for row, m in zip(vals, mask, strict=False):
            t, nc = kahan_sum_inc(np.where(m, row, 0.0), total, c)
            total = np.where(m, t, total)
            c = np.where(m, nc, c)
        if op == "sum":
            return total + c
        with np.errstate(invalid="ignore", divide="ignore"):
            result = (total + c) / count
        # Overflow needs Prometheus's incremental mean; rare, so done column by column.
        for bad in np.flatnonzero(np.isinf(total) & (count > 0)):
            result[bad] = mean_of([float(v) for v in vals[mask[:, bad], bad]])
        return np.asarray(result, dtype=np.float64)
    if op in ("min", "max"):
        fill = np.where(mask, vals, np.nan)
        with np.errstate(invalid="ignore"):
            reduced = np.fmin.reduce(fill, axis=0) if op == "min" else np.fmax.reduce(fill, axis=0)
        return np.asarray(reduced, dtype=np.float64)
    if op in ("stddev", "stdvar"):
        n = np.zeros(n_times)
        mean = np.zeros(n_times)
        acc = np.zeros(n_times)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for row, m in zip(vals, mask, strict=False):
                n2 = n + m
                delta = row - mean
                new_mean = mean + np.where(m, delta, 0.0) / np.where(n2 > 0, n2, 1)
                new_acc = acc + delta * (row - new_mean)
                mean = np.where(m, new_mean, mean)
                acc = np.where(m, new_acc, acc)
                n = n2
            var = acc / n
            return np.sqrt(var) if op == "stddev" else var
    if op == "quantile":
        assert isinstance(param, np.ndarray)
        out = np.full(n_times, np.nan)
        for col in range(n_times):
            if count[col]:
                out[col] = quantile(float(param[col]), vals[mask[:, col], col])
        return out
    raise QueryExecutionError(f"unknown aggregation operator {op!r}")


def _select_k(op: str, block: Block, grouping: tuple[str, ...], without: bool, param: FloatArray) -> Block:
    """topk/bottomk/limitk/limit_ratio keep whole input series (labels untouched) where selected."""
    n_times = block.n_times
    present = np.zeros_like(block.present)
    # The first bad parameter (in time order) is the one reported.
    bad = np.isnan(param) if op == "limit_ratio" else np.isnan(param) | (np.abs(param) >= 2**63)
    if bad.any():
        p = float(param[int(np.argmax(bad))])
        if op == "limit_ratio":
            raise QueryExecutionError("Ratio value is NaN")
        if math.isnan(p):
            raise QueryExecutionError("Parameter value is NaN")
        raise QueryExecutionError(f"Scalar value {format_float(p)} overflows int64")
    groups = _members(block, grouping, without) if op != "limit_ratio" else []
    if op == "limit_ratio":
        # Each series is kept or not by its own labels' hash: no grouping needed.
        ratio = np.clip(param, -1.0, 1.0)[None, :]
        point = np.array([_ratio_point(lbl) for lbl in block.labels], dtype=np.float64)[:, None]
        present = block.present & np.where(ratio >= 0, point < ratio, point >= 1 + ratio)
    elif op == "limitk":
        # The first k series present at each time, group by group (int(k) truncates, as Go's does).
        keep_first = np.maximum(np.trunc(param), 0.0)[None, :]
        for rows in groups:
            live = block.present[rows]
            present[rows] = live & (np.cumsum(live, axis=0) <= keep_first)
    if op in ("topk", "bottomk"):
        ks = np.where(np.isnan(param), 0, param).astype(np.int64)
        for rows in groups:
            present[rows] = k_best_columns(op, block.values[rows], block.present[rows], ks)
        if n_times == 1:
            return _instant_k_order(op, block, groups, int(ks[0]))
    out = Block(list(block.labels), block.values.copy(), present, list(block.drop_name))
    return out.compact()


def _instant_k_order(op: str, block: Block, groups: list[IntArray], k: int) -> Block:
    """Prometheus lists an instant topk/bottomk group by group (in order of each
    group's first sample), each group's heap sorted best first."""
    first_seen = sorted(
        (live[0], live)
        for live in (rows[block.present[rows, 0]].tolist() for rows in groups)
        if live
    )
    order: list[int] = []
    for _, live in first_seen:
        column = [float(block.values[r, 0]) for r in live]
        heap = go_heap_k(op, column, k)
        order += [live[i] for i in go_sorted_best_first(op, column, heap)]
    return block.take(order)


def _ratio_point(labels: Labels) -> float:
    """Where a series falls in [0, 1) for ``limit_ratio``: its labels' hash."""
    import hashlib

    text = "\xff".join(f"{k}\xff{v}" for k, v in labels).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") / 2**64


def _count_values(block: Block, grouping: tuple[str, ...], without: bool, label: str) -> Block:
    n_times = block.n_times
    counts: dict[Labels, np.ndarray] = {}
    key_of = key_function(grouping, without)
    for i, lbl in enumerate(block.labels):
        key = key_of(lbl)
        base = {k: v for k, v in key if k != label}
        for t in np.flatnonzero(block.present[i]):
            out = dict(base)
            out[label] = format_float(float(block.values[i, t]))
            out_key = tuple(sorted(out.items()))
            arr = counts.get(out_key)
            if arr is None:
                arr = counts[out_key] = np.zeros(n_times)
            arr[t] += 1
    labels = list(counts)
    if not labels:
        return Block.empty(n_times)
    values = np.array([counts[k] for k in labels])
    return Block(labels, values, values > 0, [False] * len(labels))
