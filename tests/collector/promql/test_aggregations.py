"""Aggregation operators: grouping, Prometheus's float behaviour, topk/count_values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import Labels
from metricslib.collector.promql.aggregations import (
    aggregate,
    compensated_sum,
    group_key,
    mean_of,
    quantile,
)
from metricslib.collector.promql.values import Block
from metricslib.errors import QueryExecutionError


def L(**kw: str) -> Labels:
    return tuple(sorted(kw.items()))


def block(rows: list[tuple[Labels, list[float | None]]]) -> Block:
    values = np.array([[math.nan if v is None else v for v in vals] for _, vals in rows], dtype=float)
    present = np.array([[v is not None for v in vals] for _, vals in rows], dtype=bool)
    return Block([lbl for lbl, _ in rows], values, present, [False] * len(rows))


def as_dict(b: Block, col: int = 0) -> dict[Labels, float]:
    return {lbl: float(b.values[i, col]) for i, lbl in enumerate(b.labels) if b.present[i, col]}


DATA = block(
    [
        (L(__name__="m", job="a", inst="1"), [1.0, 10.0]),
        (L(__name__="m", job="a", inst="2"), [3.0, None]),
        (L(__name__="m", job="b", inst="1"), [5.0, 50.0]),
    ]
)


def test_group_key_by_and_without() -> None:
    lbl = L(__name__="m", job="a", inst="1")
    assert group_key(lbl, ("job",), False) == L(job="a")
    assert group_key(lbl, ("inst",), True) == L(job="a")  # without also drops the name


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("sum", {L(job="a"): 4.0, L(job="b"): 5.0}),
        ("avg", {L(job="a"): 2.0, L(job="b"): 5.0}),
        ("min", {L(job="a"): 1.0, L(job="b"): 5.0}),
        ("max", {L(job="a"): 3.0, L(job="b"): 5.0}),
        ("count", {L(job="a"): 2.0, L(job="b"): 1.0}),
        ("group", {L(job="a"): 1.0, L(job="b"): 1.0}),
        ("stddev", {L(job="a"): 1.0, L(job="b"): 0.0}),
        ("stdvar", {L(job="a"): 1.0, L(job="b"): 0.0}),
    ],
)
def test_simple_aggregations_by_job(op: str, expected: dict[Labels, float]) -> None:
    out = aggregate(op, DATA, ("job",), False)
    assert as_dict(out) == expected


def test_aggregation_only_counts_series_present_at_each_time() -> None:
    out = aggregate("sum", DATA, ("job",), False)
    assert as_dict(out, 1) == {L(job="a"): 10.0, L(job="b"): 50.0}


def test_sum_uses_compensated_summation() -> None:
    b = block([(L(i="1"), [1e100]), (L(i="2"), [1.0]), (L(i="3"), [-1e100])])
    assert as_dict(aggregate("sum", b, (), False)) == {(): 1.0}


def test_min_max_ignore_nan_unless_all_nan() -> None:
    b = block([(L(i="1"), [math.nan, math.nan]), (L(i="2"), [2.0, None])])
    out = aggregate("max", b, (), False)
    assert out.values[0, 0] == 2.0
    assert math.isnan(out.values[0, 1])


def test_avg_survives_overflow_with_incremental_mean() -> None:
    b = block([(L(i="1"), [1.7e308]), (L(i="2"), [1.7e308])])
    assert as_dict(aggregate("avg", b, (), False)) == {(): 1.7e308}


def test_topk_keeps_input_series_and_orders_best_first() -> None:
    single = DATA.take([0, 1, 2])
    single = Block(single.labels, single.values[:, :1], single.present[:, :1], single.drop_name)
    out = aggregate("topk", single, (), False, np.array([2.0]))
    assert out.labels == [L(__name__="m", job="b", inst="1"), L(__name__="m", job="a", inst="2")]
    assert as_dict(out, 0) == {L(__name__="m", job="b", inst="1"): 5.0, L(__name__="m", job="a", inst="2"): 3.0}
    bottom = aggregate("bottomk", DATA, ("job",), False, np.array([1.0, 1.0]))
    assert set(as_dict(bottom, 0)) == {L(__name__="m", job="a", inst="1"), L(__name__="m", job="b", inst="1")}


def test_topk_rejects_nan_parameter() -> None:
    with pytest.raises(QueryExecutionError, match="Parameter value is NaN"):
        aggregate("topk", DATA, (), False, np.array([math.nan, 1.0]))


def test_count_values_formats_values_like_go() -> None:
    b = block([(L(i="1"), [1.0]), (L(i="2"), [1.0]), (L(i="3"), [0.5])])
    out = aggregate("count_values", b, (), False, "v")
    assert as_dict(out) == {L(v="1"): 2.0, L(v="0.5"): 1.0}


def test_quantile_interpolates_and_handles_bounds() -> None:
    assert quantile(0.5, [1.0, 2.0, 3.0, 4.0]) == 2.5
    assert quantile(-1, [1.0]) == -math.inf
    assert quantile(2, [1.0]) == math.inf
    assert math.isnan(quantile(math.nan, [1.0]))


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=30))
def test_mean_matches_exact_mean(values: list[float]) -> None:
    assert mean_of(values) == pytest.approx(math.fsum(values) / len(values), rel=1e-9, abs=1e-9)


def test_limitk_keeps_the_first_k_series_of_each_group() -> None:
    out = aggregate("limitk", DATA, ("job",), False, np.array([1.0, 1.0]))
    assert set(as_dict(out, 0)) == {L(__name__="m", job="a", inst="1"), L(__name__="m", job="b", inst="1")}


def test_limit_ratio_splits_series_into_complementary_sets() -> None:
    half = set(as_dict(aggregate("limit_ratio", DATA, (), False, np.array([0.5, 0.5])), 0))
    rest = set(as_dict(aggregate("limit_ratio", DATA, (), False, np.array([-0.5, -0.5])), 0))
    assert half | rest == set(as_dict(DATA, 0)) and not half & rest


def test_k_parameter_errors_report_the_first_bad_time() -> None:
    with pytest.raises(QueryExecutionError, match=r"Scalar value 18446744073709552000 overflows int64"):
        aggregate("bottomk", DATA, (), False, np.array([2.0**64, math.nan]))
    with pytest.raises(QueryExecutionError, match="Parameter value is NaN"):
        aggregate("limitk", DATA, (), False, np.array([math.nan, 2.0**64]))
    with pytest.raises(QueryExecutionError, match="Ratio value is NaN"):
        aggregate("limit_ratio", DATA, (), False, np.array([0.5, math.nan]))


@given(st.lists(st.lists(st.floats(-1e300, 1e300) | st.sampled_from([1e100, -1e100, 1.0, -0.0]), min_size=3, max_size=3), min_size=1, max_size=30))
def test_compensated_column_sums_are_as_accurate_as_kahan(rows: list[list[float]]) -> None:
    got = compensated_sum(np.array(rows))
    if got is None:  # a partial sum overflowed: the step-by-step Kahan path takes over
        assert not np.isfinite(np.cumsum(np.array(rows), axis=0)).all()
        return
    prefix_size = float(np.abs(np.cumsum(np.array(rows), axis=0)).max())
    for col, value in enumerate(got.tolist()):
        exact = math.fsum(r[col] for r in rows)
        assert abs(value - exact) <= 4e-16 * abs(exact) + 1e-28 * prefix_size
        assert math.copysign(1.0, value) == 1.0 or value != 0  # never -0, as a Kahan sum from +0


@pytest.mark.parametrize("op", ["sum", "avg"])
@pytest.mark.parametrize("block_cells", [1, 5, 64, 10_000_000])
def test_sum_in_blocks_is_the_whole_compensated_sum_bit_for_bit(
    op: str, block_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sum/avg add a few members at a time; with values of wildly different sizes
    (where the rounding errors matter) and gaps, every bit must be the one-pass
    compensated sum's, over the members present at each time."""
    from metricslib.collector.promql import aggregations

    rs = np.random.default_rng(11)
    n_series, n_times = 600, 40
    values = rs.standard_normal((n_series, n_times)) * 10.0 ** rs.integers(-3, 33, (n_series, n_times))
    present = rs.random((n_series, n_times)) > 0.2
    labels = [(("__name__", "x"), ("i", str(i)), ("job", f"j{i % 4}")) for i in range(n_series)]
    block = Block(labels, values, present, [True] * n_series)
    monkeypatch.setattr(aggregations, "SUM_BLOCK_CELLS", block_cells)
    out = aggregations.aggregate(op, block, ("job",), False)
    assert len(out.labels) == 4
    for g, key in enumerate(out.labels):
        rows = [i for i in range(n_series) if labels[i][2] == key[0]]
        for t in range(n_times):
            live = [r for r in rows if present[r, t]]
            exact = compensated_sum(values[live, t][:, None])
            assert exact is not None
            want = exact[0] if op == "sum" else exact[0] / len(live)
            assert out.values[g, t].tobytes() == np.float64(want).tobytes()


_ROWS = st.lists(
    st.tuples(st.sampled_from("abc"), st.lists(st.booleans(), min_size=3, max_size=3)),
    min_size=1,
    max_size=10,
)


def _rows_block(rows: list[tuple[str, list[bool]]]) -> Block:
    return block([(L(job=job, inst=str(i)), [float(i) if p else None for p in seen]) for i, (job, seen) in enumerate(rows)])


@given(_ROWS, st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 1.9, 2.0, 3.0, 2.0**62]), min_size=3, max_size=3))
def test_limitk_keeps_the_first_k_present_series_of_each_group_at_every_time(
    rows: list[tuple[str, list[bool]]], ks: list[float]
) -> None:
    b = _rows_block(rows)
    out = aggregate("limitk", b, ("job",), False, np.array(ks))
    for col, k in enumerate(ks):
        expected: set[Labels] = set()
        for job in "abc":
            live = [lbl for lbl, (j, seen) in zip(b.labels, rows, strict=True) if j == job and seen[col]]
            expected |= set(live[: max(int(k), 0)])
        assert set(as_dict(out, col)) == expected


@given(_ROWS, st.lists(st.floats(min_value=-2, max_value=2), min_size=3, max_size=3))
def test_limit_ratio_picks_each_time_by_ratio_and_complements(rows: list[tuple[str, list[bool]]], ratios: list[float]) -> None:
    b = _rows_block(rows)
    kept = aggregate("limit_ratio", b, ("job",), False, np.array(ratios))
    rest = aggregate("limit_ratio", b, ("job",), False, np.array([r - 1 if r > 0 else r + 1 for r in ratios]))
    for col, ratio in enumerate(ratios):
        live = set(as_dict(b, col))
        chosen, others = set(as_dict(kept, col)), set(as_dict(rest, col))
        assert chosen <= live
        if ratio >= 1 or ratio <= -1:
            assert chosen == live
        elif 0 < ratio < 1:
            # limit_ratio(r) and limit_ratio(r - 1) split the series between them.
            assert chosen | others == live and not chosen & others
