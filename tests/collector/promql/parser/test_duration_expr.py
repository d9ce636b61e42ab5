"""Experimental duration expressions: folding, step() resolution, printing."""

from __future__ import annotations

import pytest

from metricslib.collector.promql.parser.ast import MatrixSelector, SubqueryExpr, VectorSelector
from metricslib.collector.promql.parser.duration_expr import resolve_durations
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.parser.printer import format_expr
from metricslib.errors import PromQLParseError


@pytest.mark.parametrize(
    ("query", "range_ms"),
    [("x[26m+4m]", 1_800_000), ("x[1800]", 1_800_000), ("x[60*30]", 1_800_000),
     ("x[2m*(10+5)]", 1_800_000), ("x[24m+((1.5*2m)+2m)]", 1_740_000), ("x[-5m+35m]", 1_800_000),
     ("x[1h/2]", 1_800_000), ("x[1h30m % 1h]", 1_800_000), ("x[30m1s-30m1s % 1m]", 1_800_000),
     ("x[2 ^ 3 ^ 0]", 2_000), ("x[max(1m, 2 * 40s)]", 80_000)],
)  # fmt: skip
def test_constant_ranges_are_folded(query: str, range_ms: int) -> None:
    expr = parse_expr(query)
    assert isinstance(expr, MatrixSelector)
    assert (expr.range_ms, expr.range_expr) == (range_ms, None)


def test_subquery_and_offset_expressions() -> None:
    sq = parse_expr("sum_over_time(m[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms])")
    inner = sq.args[0]  # type: ignore[union-attr]
    assert isinstance(inner, SubqueryExpr) and (inner.range_ms, inner.step_ms) == (30_000, 10_000)
    off = parse_expr("m offset (100 + 2)")
    assert isinstance(off, VectorSelector) and off.offset_ms == 102_000


@pytest.mark.parametrize(
    ("query", "shape"),
    [("m offset 100 + 2", "m offset 1m40s + 2"), ("m offset -2 ^ 2", "m offset -2s ^ 2"),
     ("m offset -2 * 2", "m offset -2s * 2"), ("m offset (-2 ^ 2)", "m offset -4s")],
)  # fmt: skip
def test_offset_takes_one_term(query: str, shape: str) -> None:
    assert format_expr(parse_expr(query)) == shape


@pytest.mark.parametrize(
    ("query", "step_ms", "resolved"),
    [("count_over_time(m[step()])", 10_000, "count_over_time(m[10s])"),
     ("count_over_time(m[1+(STep()-5)*2])", 10_000, "count_over_time(m[11s])"),
     ("count_over_time(m[step()+1ms])", 10_000, "count_over_time(m[10s1ms])"),
     ("count_over_time(m[max(min(step()+1,1h),1ms)])", 5_000, "count_over_time(m[6s])"),
     ("m offset -min(step(), 1s)+8000", 5_000, "m offset -1s + 8000"),
     ("m offset (STEP()/10)", 5_000, "m offset 500ms"),
     ("rate(m[5m])[step() * 10:step()]", 60_000, "rate(m[5m])[10m:1m]")],
)  # fmt: skip
def test_step_is_resolved_per_query(query: str, step_ms: int, resolved: str) -> None:
    expr = parse_expr(query)
    again = parse_expr(format_expr(expr))
    assert format_expr(again) == format_expr(expr)  # printing keeps step() expressions
    assert format_expr(resolve_durations(expr, step_ms)) == resolved


def test_duration_expressions_are_experimental() -> None:
    with pytest.raises(PromQLParseError, match='unexpected <op:\\+> in range selector, expected "]"'):
        parse_expr("x[1m+1m]", enable_experimental=False)
    assert isinstance(parse_expr("x[1m]", enable_experimental=False), MatrixSelector)


@pytest.mark.parametrize(
    ("query", "message"),
    [("x[1m-1m]", "duration must be greater than 0"), ("x[1/0]", "evaluates to inf"),
     ("x[foo]", 'unexpected identifier "foo" in range or subquery, expected duration'),
     ("x[min(1m)]", 'unexpected "\\)" in duration expression')],
)  # fmt: skip
def test_bad_duration_expressions(query: str, message: str) -> None:
    with pytest.raises(PromQLParseError, match=message):
        parse_expr(query)
