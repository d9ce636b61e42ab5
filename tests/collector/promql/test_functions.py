"""PromQL functions: range-window maths, histogram buckets, label functions, dates."""

from __future__ import annotations

import math

import numpy as np

from metricslib.collector.model import Labels
from metricslib.collector.promql.functions import (
    CallContext,
    call_function,
)
from metricslib.collector.promql.values import Block
from tests.collector.promql.function_helpers import L


def _vec(rows: list[Labels]) -> Block:
    n = len(rows)
    return Block(rows, np.arange(n, dtype=float).reshape(n, 1), np.ones((n, 1), dtype=bool), [True] * n)


def test_date_functions_use_utc() -> None:
    times = np.array([0], dtype=np.int64)
    b = Block([()], np.array([[1136239445.0]]), np.ones((1, 1), dtype=bool), [False])
    expect = {"year": 2006, "month": 1, "day_of_month": 2, "day_of_year": 2, "day_of_week": 1,
              "hour": 22, "minute": 4, "days_in_month": 31}
    for name, want in expect.items():
        out = call_function(name, [b], CallContext(times, ()))
        assert isinstance(out, Block)
        assert out.values[0, 0] == want, name


def test_clamp_with_min_above_max_returns_nothing() -> None:
    times = np.array([0], dtype=np.int64)
    b = _vec([L(a="1")])
    out = call_function("clamp", [b, np.array([5.0]), np.array([1.0])], CallContext(times, ()))
    assert isinstance(out, Block) and len(out) == 0


def test_sort_by_label_uses_natural_order() -> None:
    rows = [L(cpu="10"), L(cpu="2"), L(cpu="1")]
    b = Block(rows, np.zeros((3, 1)), np.ones((3, 1), dtype=bool), [False] * 3)
    times = np.array([0], dtype=np.int64)
    out = call_function("sort_by_label", [b, "cpu"], CallContext(times, ()))
    assert isinstance(out, Block)
    assert out.labels == [L(cpu="1"), L(cpu="2"), L(cpu="10")]
    desc = call_function("sort_by_label_desc", [b, "cpu"], CallContext(times, ()))
    assert isinstance(desc, Block) and desc.labels == [L(cpu="10"), L(cpu="2"), L(cpu="1")]


def test_sort_puts_nan_last() -> None:
    rows = [L(a="nan"), L(a="2"), L(a="1")]
    b = Block(rows, np.array([[math.nan], [2.0], [1.0]]), np.ones((3, 1), dtype=bool), [False] * 3)
    times = np.array([0], dtype=np.int64)
    for name, order in (("sort", ["1", "2", "nan"]), ("sort_desc", ["2", "1", "nan"])):
        out = call_function(name, [b], CallContext(times, ()))
        assert isinstance(out, Block)
        assert [dict(lbl)["a"] for lbl in out.labels] == order
