"""Binary operators on Blocks: Go float semantics, vector matching and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metricslib.collector.model import Labels
from metricslib.collector.promql.binary import (
    arithmetic,
    scalar_binary,
    vector_scalar_binary,
    vector_vector_binary,
)
from metricslib.collector.promql.parser.ast import VectorMatching
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


ONE_TO_ONE = VectorMatching()


def test_arithmetic_follows_go_float_rules() -> None:
    a = np.array([1.0, -1.0, 0.0, 5.5, -5.5, 2.0])
    b = np.array([0.0, 0.0, 0.0, 2.0, 2.0, 10.0])
    div = arithmetic("/", a, b)
    assert div[0] == math.inf and div[1] == -math.inf and math.isnan(div[2])
    mod = arithmetic("%", a, b)
    assert mod[3] == 1.5 and mod[4] == -1.5  # math.Mod keeps the dividend's sign
    assert arithmetic("^", np.array([math.nan]), np.array([0.0]))[0] == 1.0
    assert arithmetic("atan2", np.array([1.0]), np.array([1.0]))[0] == pytest.approx(math.pi / 4)


def test_scalar_comparison_returns_zero_or_one() -> None:
    out = scalar_binary(">", np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    assert out.tolist() == [0.0, 1.0]


def test_vector_scalar_filter_keeps_vector_value_and_name() -> None:
    v = block([(L(__name__="m", a="1"), [1.0]), (L(__name__="m", a="2"), [5.0])])
    out = vector_scalar_binary("<", v, np.array([3.0]), scalar_on_left=True, return_bool=False)
    # 3 < v keeps only a=2, with the vector's own value 5.
    assert as_dict(out) == {L(__name__="m", a="2"): 5.0}
    assert out.drop_name[out.labels.index(L(__name__="m", a="2"))] is False
    with_bool = vector_scalar_binary("<", v, np.array([3.0]), scalar_on_left=True, return_bool=True)
    assert sorted(as_dict(with_bool).values()) == [0.0, 1.0]
    assert all(with_bool.drop_name)


def test_one_to_one_matching_ignores_name_and_flags_it_for_removal() -> None:
    lhs = block([(L(__name__="a", job="x"), [1.0]), (L(__name__="a", job="y"), [2.0])])
    rhs = block([(L(__name__="b", job="x"), [10.0]), (L(__name__="b", job="z"), [20.0])])
    out = vector_vector_binary("+", lhs, rhs, ONE_TO_ONE, return_bool=False)
    assert as_dict(out) == {L(__name__="a", job="x"): 11.0}
    assert out.drop_name == [True]


def test_on_keeps_only_matching_labels() -> None:
    lhs = block([(L(job="x", inst="1"), [1.0])])
    rhs = block([(L(job="x", other="q"), [2.0])])
    out = vector_vector_binary("*", lhs, rhs, VectorMatching(on=True, labels=("job",)), return_bool=False)
    assert as_dict(out) == {L(job="x"): 2.0}


def test_group_left_copies_include_labels_from_the_one_side() -> None:
    many = block([(L(job="x", inst="1"), [1.0]), (L(job="x", inst="2"), [2.0])])
    one = block([(L(job="x", version="v9"), [100.0])])
    matching = VectorMatching(card="many-to-one", on=True, labels=("job",), include=("version",))
    out = vector_vector_binary("+", many, one, matching, return_bool=False)
    assert as_dict(out) == {L(job="x", inst="1", version="v9"): 101.0, L(job="x", inst="2", version="v9"): 102.0}


def test_group_right_swaps_sides_but_keeps_operand_order() -> None:
    one = block([(L(job="x"), [10.0])])
    many = block([(L(job="x", inst="1"), [1.0])])
    matching = VectorMatching(card="one-to-many", on=True, labels=("job",))
    out = vector_vector_binary("-", one, many, matching, return_bool=False)
    assert as_dict(out) == {L(job="x", inst="1"): 9.0}


def test_duplicate_on_the_one_side_is_an_error_naming_the_group() -> None:
    many = block([(L(job="x", inst="1"), [1.0])])
    one = block([(L(job="x", a="1"), [1.0]), (L(job="x", a="2"), [2.0])])
    matching = VectorMatching(card="many-to-one", on=True, labels=("job",))
    with pytest.raises(QueryExecutionError, match=r'found duplicate series for the match group \{job="x"\} on the right'):
        vector_vector_binary("+", many, one, matching, return_bool=False)


def test_many_to_many_needs_group_modifier_even_when_filtered() -> None:
    lhs = block([(L(job="t", label="foo"), [0.0]), (L(job="t", label="bar"), [1.0])])
    rhs = block([(L(job="t"), [1.0])])
    with pytest.raises(QueryExecutionError, match="many-to-one matching must be explicit"):
        vector_vector_binary(">", lhs, rhs, VectorMatching(on=True, labels=("job",)), return_bool=False)


def test_duplicates_only_matter_where_both_exist() -> None:
    many = block([(L(job="x", inst="1"), [1.0, 1.0])])
    one = block([(L(job="x", a="1"), [1.0, None]), (L(job="x", a="2"), [None, 2.0])])
    matching = VectorMatching(card="many-to-one", on=True, labels=("job",))
    out = vector_vector_binary("+", many, one, matching, return_bool=False)
    assert out.values[0].tolist() == [2.0, 3.0]


def test_set_operators_per_time() -> None:
    lhs = block([(L(a="1"), [1.0, 1.0]), (L(a="2"), [2.0, None])])
    rhs = block([(L(a="1"), [None, 5.0]), (L(a="3"), [3.0, 3.0])])
    many = VectorMatching(card="many-to-many")
    both = vector_vector_binary("and", lhs, rhs, many, return_bool=False)
    assert both.labels == [L(a="1")] and both.present.tolist() == [[False, True]]
    unless = vector_vector_binary("unless", lhs, rhs, many, return_bool=False)
    assert as_dict(unless, 0) == {L(a="1"): 1.0, L(a="2"): 2.0}
    assert as_dict(unless, 1) == {}
    either = vector_vector_binary("or", lhs, rhs, many, return_bool=False)
    assert as_dict(either, 0) == {L(a="1"): 1.0, L(a="2"): 2.0, L(a="3"): 3.0}
    assert as_dict(either, 1) == {L(a="1"): 1.0, L(a="3"): 3.0}


def test_comparison_with_nan_never_matches_except_not_equal() -> None:
    lhs = block([(L(a="1"), [math.nan])])
    rhs = block([(L(a="1"), [math.nan])])
    assert as_dict(vector_vector_binary("==", lhs, rhs, ONE_TO_ONE, return_bool=False)) == {}
    kept = vector_vector_binary("!=", lhs, rhs, ONE_TO_ONE, return_bool=False)
    assert list(as_dict(kept)) == [L(a="1")]
