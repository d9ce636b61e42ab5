"""Range-vector functions over all windows of all series at once.

The series of a selection are one flat array; one ``searchsorted`` finds every
window, cumulative sums count resets and changes, window sums come from
compensated prefix sums and window extremes from a sparse table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from metricslib.collector.model import SeriesBatch
from metricslib.collector.promql.aggregations import kahan_sum_inc, mean_of, running_sums
from metricslib.collector.promql.function_context import KEEPS_NAME
from metricslib.collector.promql.values import Block, FloatArray, IntArray, RangeArg

__all__ = [
    "vectorised_range_function",
]

#: Windows per block of rate's arithmetic: its dozen float temporaries then fit
#: in a core's L2 cache (about 1 MB each at 128k windows; measured fastest at
#: 64k-256k on a 1 MB-L2 machine, 1.7x faster than whole 1M-window chunks).
RATE_BLOCK_CELLS = 131_072


def vectorised_range_function(
    name: str, rng: RangeArg, param: FloatArray | None = None, times: IntArray | None = None,
    check: Callable[[], None] = lambda: None,
) -> Block:
    """All series and all windows at once.

    The selection arrives as one flat batch; ``lo``/``hi`` (series x times)
    index each window in it. Sums come from compensated prefix sums and
    min/max from a sparse table, so the numpy work does not grow with the
    number of samples in a window; stddev/stdvar, regressions and the exact
    overflow path walk window positions.
    """
    batch = rng.batch
    vals, ts = batch.values, batch.timestamps
    first = batch.offsets[:-1]
    starts = np.zeros(len(vals), dtype=bool)
    starts[first] = True
    lo2, hi2 = rng.open_bounds = _bounds(batch, rng)
    with np.errstate(all="ignore"):
        if name in ("rate", "increase", "delta"):
            drops = _counter_drops(vals, starts) if name != "delta" else None
            values = np.empty(lo2.shape)
            mask = np.empty(lo2.shape, dtype=bool)
            # Row blocks whose temporaries stay in the CPU cache: one pass over main
            # memory per step of the arithmetic made it memory-bound.
            rows = max(1, RATE_BLOCK_CELLS // max(1, lo2.shape[1]))
            for a in range(0, lo2.shape[0], rows):
                b = a + rows
                values[a:b], mask[a:b] = _flat_rate(vals, ts, drops, lo2[a:b], hi2[a:b], rng, name)
            return _block(name, rng, values, mask)
        count = hi2 - lo2
        last_i = np.maximum(hi2 - 1, 0)
        if name == "count_over_time":
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
    return _block(name, rng, values, mask)


def _block(name: str, rng: RangeArg, values: FloatArray, mask: np.ndarray) -> Block:
    """The rows of series with at least one window."""
    keep = mask.any(axis=1).nonzero()[0].tolist()
    labels = rng.batch.labels
    if name not in KEEPS_NAME:
        drop = [True] * len(keep)
    else:
        drop_name = rng.drop_name
        drop = [drop_name[i] for i in keep]
    if len(keep) == len(labels):
        return Block(list(labels), values, mask, drop)
    return Block([labels[i] for i in keep], values[keep], mask[keep], drop)


def _bounds(batch: SeriesBatch, rng: RangeArg) -> tuple[np.ndarray, np.ndarray]:
    """Flat indexes ``[lo, hi)`` of every window of every series (series x times)."""
    grid = _grid_bounds(batch, rng)
    if grid is not None:
        return grid
    ts = batch.timestamps
    # One searchsorted for every window of every series. (Evaluation times are sorted.)
    shifted = batch.sorted_keys(min(int(ts.min()), int(rng.ends[0]) - rng.range_ms), max(int(ts.max()), int(rng.ends[-1])))
    if shifted is not None:
        keyed, row_shift = shifted
        hi = keyed.searchsorted(rng.ends[None, :] + row_shift, side="right")
        lo = keyed.searchsorted((rng.ends - rng.range_ms)[None, :] + row_shift, side="right")
        return lo, hi
    # Time spans too wide to shift into int64: one search per series.
    first = batch.offsets[:-1, None]
    bounds = [rng.bounds(s) for s in rng.series]
    return np.array([b[0] for b in bounds]) + first, np.array([b[1] for b in bounds]) + first


def _grid_bounds(batch: SeriesBatch, rng: RangeArg) -> tuple[np.ndarray, np.ndarray] | None:
    """Window bounds without a search, when steps are evenly spaced and the range is a
    whole number of steps shorter than the query (the usual dashboard query).

    Window starts and ends then all lie on one grid of times ``g_0 < g_1 < ...``
    (``g_0`` the first window's start). A sample at ``t`` is at or before every
    grid time from ``ceil((t - g_0) / step)`` on, so counting samples per (series,
    grid index) and summing the counts along each row gives the number of samples
    at or before every grid time: one pass over the samples and one over the
    windows, where a binary search per window jumps across the whole flat array.
    None otherwise (the caller searches)."""
    ends = rng.ends
    n = len(ends)
    if n < 2 or len(batch.timestamps) == 0:
        return None
    step = int(ends[1] - ends[0])
    if step <= 0 or rng.range_ms % step or not bool((ends[1:] - ends[:-1] == step).all()):
        return None
    lag = rng.range_ms // step
    if lag >= n:  # windows longer than the query: the grid would be mostly empty columns
        return None
    origin = int(ends[0]) - rng.range_ms
    ts = batch.timestamps
    # Keep every difference (and the grid index times the row count) far inside int64.
    if max(abs(int(ts.min()) - origin), abs(int(ts.max()) - origin)) >= 2**61:
        return None
    width = n + lag + 1  # grid indexes 0 .. n + lag - 1, and one for "after the last"
    k = ts - origin
    k += step - 1
    k //= step  # ceil((t - origin) / step), also for samples before the origin
    np.clip(k, 0, width - 1, out=k)
    k += np.arange(0, len(batch.labels) * width, width, dtype=np.int64).repeat(batch.sizes)
    counts = np.bincount(k, minlength=len(batch.labels) * width).reshape(len(batch.labels), width)
    at_or_before = np.cumsum(counts[:, : width - 1], axis=1)
    at_or_before += batch.offsets[:-1, None]
    # Windows are open on the left: a window starts after the samples at or before its start.
    return at_or_before[:, :n], at_or_before[:, lag:]


def _counter_drops(vals: FloatArray, starts: np.ndarray) -> tuple[IntArray, FloatArray] | None:
    """Where a counter restarted within its series (the positions after each drop) and
    the running sum of the values before the drops; None when none did."""
    if len(vals) < 2:
        return None
    dropped = vals[1:] < vals[:-1]
    dropped &= ~starts[1:]
    before = np.flatnonzero(dropped)
    if not before.size:
        return None
    return before + 1, np.concatenate(([0.0], np.cumsum(vals[before])))


def _flat_rate(
    vals: FloatArray,
    ts: IntArray,
    drops: tuple[IntArray, FloatArray] | None,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: RangeArg,
    name: str,
) -> tuple[FloatArray, np.ndarray]:
    """Prometheus's extrapolatedRate for every window of every series (same arithmetic, in order).

    Each step works in place where it can: the arrays are series x steps, so every
    temporary is a pass over memory, and those passes are the cost."""
    n_in = hi - lo
    ok = n_in >= 2
    first_i = np.where(ok, lo, 0)
    last_i = hi - 1
    np.copyto(last_i, 0, where=~ok)
    first_v, last_v = vals.take(first_i), vals.take(last_i)
    result = np.subtract(last_v, first_v, out=last_v)
    is_counter = name != "delta"
    if drops is not None:
        # A drop means the counter restarted: add back the value before the drop.
        # Drops are rare, so sum them over their own positions, not over every sample.
        at, sums = drops
        result = result + (sums[np.searchsorted(at, last_i, "right")] - sums[np.searchsorted(at, first_i, "right")])
    first_t, last_t = ts.take(first_i), ts.take(last_i)
    ends = rng.ends[None, :]
    # Millisecond differences are exact in int64 (and in float64 below 2**53).
    to_end = (ends - last_t) / 1000.0
    sampled = np.subtract(last_t, first_t, out=last_t) / 1000.0
    to_start = np.subtract(first_t, ends - rng.range_ms, out=first_t) / 1000.0
    gaps = np.subtract(n_in, 1, out=n_in)
    avg_gap = sampled / np.maximum(gaps, 1, out=gaps)
    threshold = avg_gap * 1.1
    half_gap = np.divide(avg_gap, 2, out=avg_gap)
    np.copyto(to_start, half_gap, where=to_start >= threshold)
    if is_counter:
        # No further back than where the counter would have been zero.
        shorter = result > 0
        shorter &= first_v >= 0
        to_zero = first_v / result
        to_zero *= sampled
        shorter &= to_zero < to_start
        np.copyto(to_start, to_zero, where=shorter)
    np.copyto(to_end, half_gap, where=to_end >= threshold)
    # (sampled + to_start + to_end) / sampled, added in that order.
    factor = np.add(to_start, sampled, out=to_start)
    factor += to_end
    factor /= sampled
    if name == "rate":
        factor /= rng.range_ms / 1000.0
    result *= factor
    return result, ok


def _window_sums(vals: FloatArray, lo: np.ndarray, hi: np.ndarray) -> FloatArray | None:
    """``sum(vals[lo:hi])`` for every window, as accurate as Kahan's sum (see
    :func:`running_sums`): the difference of two running sums plus the
    difference of their accumulated rounding errors, read with two gathers
    instead of one numpy pass per window position. None when values or running
    sums are not finite: those take the exact path."""
    sums = running_sums(vals)
    if sums is None:
        return None
    prefix, errors = sums
    s = np.concatenate(([0.0], prefix))
    e = np.concatenate(([0.0], np.cumsum(errors)))
    # "+ 0.0" turns -0.0 into +0.0, as a Kahan sum starting at +0.0 would.
    window: FloatArray = (s[hi] - s[lo]) + (e[hi] - e[lo]) + 0.0
    return window


def _window_extremes(name: str, vals: FloatArray, lo: np.ndarray, hi: np.ndarray) -> FloatArray:
    """min or max of ``vals[lo:hi]`` for every window, ignoring NaN unless all are NaN.

    A sparse table: level k holds the extreme of every run of 2**k values, so any
    window is covered by two overlapping runs. log2(width) numpy passes instead
    of one per window position.
    """
    reduce = np.fmin if name == "min_over_time" else np.fmax
    count = hi - lo
    width = int(count.max())
    if int(count.sum()) <= 4 * len(vals):
        # Windows that barely overlap (an instant query, or a long subquery such as
        # x[1d:1ms]): one pass over them, where the table would take len(vals) x
        # log2(width) floats (4 GB for 22M points).
        return _direct_extremes(reduce, vals, lo, hi, count)
    levels = [vals]
    span = 1
    while span * 2 <= width:
        prev = levels[-1]
        levels.append(reduce(prev[:-span], prev[span:]))
        span *= 2
    k = np.floor(np.log2(np.maximum(count, 1))).astype(np.intp)  # exact: counts are far below 2**48
    out = np.full(count.shape, np.nan)
    for level, table in enumerate(levels):
        at = (k == level) & (count > 0)
        if at.any():
            left = table[lo[at]]
            right = table[hi[at] - (1 << level)]
            out[at] = reduce(left, right)
    return out


def _direct_extremes(reduce: np.ufunc, vals: FloatArray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray) -> FloatArray:
    """``reduce`` over each window with one ``reduceat``: it reduces ``vals[lo:hi]`` for
    each pair of bounds (every other result; the ones between are discarded)."""
    padded = np.append(vals, np.nan)  # a window may end at len(vals)
    bounds = np.stack([lo.ravel(), hi.ravel()], axis=1).ravel()
    out = reduce.reduceat(padded, bounds)[::2].reshape(count.shape)
    return np.where(count > 0, out, np.nan)


def _flat_over_time(
    name: str, vals: FloatArray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray,
    check: Callable[[], None] = lambda: None,
) -> tuple[FloatArray, np.ndarray]:
    mask = count > 0
    width = int(count.max()) if count.size else 0
    last = len(vals) - 1
    shape = count.shape
    if name in ("min_over_time", "max_over_time"):
        return (_window_extremes(name, vals, lo, hi) if width else np.full(shape, np.nan)), mask
    sums = _window_sums(vals, lo, hi) if name in ("sum_over_time", "avg_over_time") else None
    if sums is not None:
        if name == "sum_over_time":
            return sums, mask
        return sums / np.where(mask, count, 1), mask
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
        # NaN and out-of-range q are answered below; rank them as 0 so indexes stay finite.
        q_in = np.where(np.isnan(q) | (q < 0) | (q > 1), 0.0, q)
        rank = q_in[None, :] * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        low_v = np.take_along_axis(windows, np.clip(lower, 0, width - 1).astype(np.intp)[:, :, None], 2)[:, :, 0]
        up_v = np.take_along_axis(windows, np.clip(upper, 0, width - 1).astype(np.intp)[:, :, None], 2)[:, :, 0]
        out[start : start + rows_per_chunk] = low_v * (1 - weight) + up_v * weight
    out = np.where(q[None, :] < 0, -np.inf, np.where(q[None, :] > 1, np.inf, out))
    return np.where(np.isnan(q)[None, :], np.nan, out), mask
