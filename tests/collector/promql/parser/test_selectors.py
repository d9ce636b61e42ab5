"""Selectors and their modifiers: matchers, ranges, subqueries, offset, @ (Prometheus's cases)."""

from __future__ import annotations

import re

import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.promql.parser.ast import MatrixSelector, SubqueryExpr, VectorSelector
from metricslib.collector.promql.parser.duration_expr import go_round
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.errors import PromQLParseError


@pytest.mark.parametrize(
    ("query", "at_ms"),
    [("foo @ .3", 300), ("foo @ 3.", 3000), ("foo @ 3.33", 3330), ("foo @ 3.3333", 3333),
     ("foo @ 3.3335", 3334), ("foo @ 3e2", 300_000), ("foo @ 3e-1", 300), ("foo @ 0xA", 10_000),
     ("foo @ -3.3e1", -33_000), ("foo @ 0.0005", 1), ("foo @ -0.0005", -1)],
)  # fmt: skip
def test_at_timestamps_round_like_go(query: str, at_ms: int) -> None:
    expr = parse_expr(query)
    assert isinstance(expr, VectorSelector) and expr.at == at_ms


def test_go_round_goes_away_from_zero() -> None:
    assert [go_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4999, 0.49999999999999994)] == [1, 2, 3, -1, -3, 2, 0]


@pytest.mark.parametrize("bad", ["+Inf", "-Inf", "NaN", "1e300"])
def test_at_out_of_bounds(bad: str) -> None:
    with pytest.raises(PromQLParseError, match="timestamp out of bounds for @ modifier"):
        parse_expr(f"foo @ {bad}")


def test_matcher_order_and_duplicates_follow_prometheus() -> None:
    expr = parse_expr('{a="b", foo!="bar", "foo", test=~"test", bar!~"baz"}')
    assert isinstance(expr, VectorSelector) and expr.name is None
    assert [m.name for m in expr.matchers] == ["a", "foo", "__name__", "test", "bar"]
    twice = parse_expr('{__name__="bar", __name__="baz"}')
    assert isinstance(twice, VectorSelector) and len(twice.matchers) == 2
    tricky = parse_expr("foo{NaN='bc', bar='}'}")
    assert isinstance(tricky, VectorSelector)
    assert tricky.matchers[:2] == (Matcher("NaN", "=", "bc"), Matcher("bar", "=", "}"))


def test_ranges_offsets_and_subqueries_compose() -> None:
    m = parse_expr("test[5d] OFFSET 10s")
    assert isinstance(m, MatrixSelector) and (m.range_ms, m.vector.offset_ms) == (432_000_000, 10_000)
    sq = parse_expr("some_metric OFFSET 1m [10m:5s]")
    assert isinstance(sq, SubqueryExpr) and isinstance(sq.expr, VectorSelector)
    assert (sq.expr.offset_ms, sq.range_ms, sq.step_ms) == (60_000, 600_000, 5_000)
    nested = parse_expr('min_over_time(rate(foo{bar="baz"}[2s])[5m:] offset 4m)[4m:3s]')
    assert isinstance(nested, SubqueryExpr) and (nested.range_ms, nested.step_ms) == (240_000, 3_000)


@pytest.mark.parametrize(
    ("query", "message"),
    [("foo[0m]", "duration must be greater than 0"), ("foo[5m:0s]", "duration must be greater than 0"),
     ('foo["5m"]', 'unexpected string "\\"5m\\"" in range or subquery, expected duration'),
     ("foo[]", 'unexpected "]" in range or subquery, expected duration'),
     ("some_metric[5m] OFFSET", "unexpected end of input in offset, expected duration"),
     ("foo @ start", 'unexpected end of input in @ modifier, expected "("')],
)  # fmt: skip
def test_selector_errors(query: str, message: str) -> None:
    with pytest.raises(PromQLParseError, match=re.escape(message)):
        parse_expr(query)
