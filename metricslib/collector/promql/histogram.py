"""``histogram_quantile`` and ``histogram_fraction`` on classic ``le`` buckets,
row by row (Prometheus's exact bucket arithmetic) and column-wise for range queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from metricslib.collector.model import METRIC_NAME, Labels
from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.values import Annotations, Block, FloatArray, IntArray

__all__ = [
    "ColumnsFn",
    "bucket_fraction",
    "bucket_quantile",
    "go_div",
    "histogram_fraction",
    "histogram_quantile",
]


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
    if counts.shape[0] > 1:
        # The usual case, checked in one pass: every bucket is equal to the one below
        # or clearly above it. Then the walk below would change nothing.
        below, above = counts[:-1], counts[1:]
        steady = (above == below) | ((above > below) & ~_almost_equal_columns(below, above, _SMALL_DELTA))
        if steady.all():
            return counts, False
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
        some = mask.any(axis=0)
        order = np.argsort(bounds, kind="stable")
        sorted_bounds = np.asarray(bounds)[order]
        if (
            columns_fn is not None and len(rows) >= 2 and math.isinf(sorted_bounds[-1])
            and sorted_bounds[-1] > 0 and bool((sorted_bounds[1:] != sorted_bounds[:-1]).all())
        ):
            # The usual case: every bucket present at a time, distinct bounds: numpy per column.
            every = mask.all(axis=0)
            full = np.flatnonzero(every)
            if len(full):
                counts = block.values[np.asarray(rows)[order]][:, full]
                values[g, full] = columns_fn(sorted_bounds, counts, full, dict(key).get(METRIC_NAME, ""))
                present[g, full] = True
                some &= ~every
        todo = np.flatnonzero(some)
        for t in todo:
            buckets = [
                (bounds[j], float(block.values[rows[j], t])) for j in range(len(rows)) if mask[j, t]
            ]
            values[g, t] = fn(int(t), buckets, dict(key).get(METRIC_NAME, ""))
            present[g, t] = True
    return Block(labels, values, present, [True] * len(labels)).compact()
