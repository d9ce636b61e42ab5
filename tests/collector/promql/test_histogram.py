"""histogram_quantile/histogram_fraction on classic buckets: Prometheus's bucket arithmetic, row-wise and column-wise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.promql.functions import (
    CallContext,
    bucket_fraction,
    bucket_quantile,
    call_function,
)
from metricslib.collector.promql.values import Block
from tests.collector.promql.function_helpers import L


def test_bucket_quantile_interpolates_and_fixes_monotonicity() -> None:
    buckets = [(1.0, 10.0), (2.0, 20.0), (math.inf, 20.0)]
    assert bucket_quantile(0.5, buckets) == pytest.approx(1.0)
    assert bucket_quantile(0.75, buckets) == pytest.approx(1.5)
    assert bucket_quantile(1.0, buckets) == 2.0  # in the +Inf bucket: highest finite bound
    # A non-monotonic count (noise from rate()) is flattened, not turned into nonsense.
    assert bucket_quantile(0.5, [(1.0, 10.0), (2.0, 8.0), (math.inf, 20.0)]) == pytest.approx(1.0)
    assert math.isnan(bucket_quantile(0.5, [(1.0, 1.0), (2.0, 2.0)]))  # no +Inf bucket


def test_bucket_fraction() -> None:
    buckets = [(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (math.inf, 100.0)]
    assert bucket_fraction(0, 1.5, buckets) == pytest.approx(0.02)
    assert bucket_fraction(400, math.inf, buckets) == pytest.approx(0.94)
    assert bucket_fraction(-math.inf, math.inf, buckets) == pytest.approx(1.0)


@given(st.floats(min_value=0, max_value=1), st.lists(st.integers(0, 100), min_size=1, max_size=8))
def test_bucket_quantile_stays_within_bounds(q: float, counts: list[int]) -> None:
    cumulative = np.cumsum(counts).tolist()
    bounds = [float(i + 1) for i in range(len(counts))]
    buckets = [*zip(bounds, cumulative, strict=True), (math.inf, float(cumulative[-1]))]
    result = bucket_quantile(q, buckets)
    if cumulative[-1] == 0:
        assert math.isnan(result)
    else:
        assert 0.0 <= result <= bounds[-1]


@given(
    st.lists(st.integers(0, 50), min_size=2, max_size=6),
    st.lists(st.floats(min_value=-0.5, max_value=1.5), min_size=1, max_size=4),
    st.booleans(),
)
def test_vectorised_histogram_quantile_matches_scalar(counts: list[int], qs: list[float], shuffle: bool) -> None:
    """Column-wise numpy quantiles must agree with the one-at-a-time reference."""
    # Non-monotonic on purpose sometimes (shuffle), like buckets from rate() noise.
    cumulative = counts if shuffle else np.cumsum(counts).tolist()
    bounds = [0.5 * (i + 1) for i in range(len(counts) - 1)] + [math.inf]
    labels = [L(__name__="h_bucket", le=str(b) if b != math.inf else "+Inf") for b in bounds]
    n = len(qs)
    block = Block(labels, np.array([[float(c)] * n for c in cumulative]), np.ones((len(labels), n), dtype=bool),
                  [False] * len(labels))
    out = call_function("histogram_quantile", [np.array(qs), block], CallContext(np.zeros(n, dtype=np.int64), ()))
    assert isinstance(out, Block)
    expected = [bucket_quantile(q, list(zip(bounds, map(float, cumulative), strict=True))) for q in qs]
    got = out.values[0].tolist() if len(out) else []
    assert len(got) == n
    for g, e in zip(got, expected, strict=True):
        assert (math.isnan(g) and math.isnan(e)) or g == pytest.approx(e)


def _monotonic_reference(column: list[float]) -> tuple[list[float], bool]:
    """Prometheus's ensureMonotonicAndIgnoreSmallDeltas, one bucket at a time."""
    from metricslib.collector.promql.histogram import _SMALL_DELTA, _almost_equal

    out = list(column)
    prev, forced = out[0], False
    for i in range(1, len(out)):
        cur = out[i]
        if cur == prev:
            continue
        if _almost_equal(prev, cur, _SMALL_DELTA):
            out[i] = prev
            continue
        if cur < prev:
            out[i] = prev
            forced = True
            continue
        prev = cur
    return out, forced


_counts = st.floats(0, 1e6) | st.sampled_from([0.0, 1.0, 1.0 + 1e-13, 5.0, math.nan])


@given(st.lists(st.lists(_counts, min_size=3, max_size=3), min_size=1, max_size=12))
def test_monotonic_fix_up_matches_the_bucket_by_bucket_walk(rows: list[list[float]]) -> None:
    from metricslib.collector.promql.histogram import _monotonic_columns

    counts = np.array(rows)
    with np.errstate(all="ignore"):  # as histogram_quantile calls it
        got, forced = _monotonic_columns(counts)
    want_forced = False
    for col in range(counts.shape[1]):
        want, f = _monotonic_reference([r[col] for r in rows])
        want_forced |= f
        np.testing.assert_array_equal(got[:, col], want)
    assert forced == want_forced
