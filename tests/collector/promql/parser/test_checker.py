"""Type checks after parsing: Prometheus's checkAST messages, and matching normalisation."""

from __future__ import annotations

import pytest

from metricslib.collector.promql.parser.ast import BinaryExpr, VectorMatching
from metricslib.collector.promql.parser.checker import type_of
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.errors import PromQLParseError


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("rate(x)", 'expected type range vector in call to function "rate", got instant vector', 6),
        ("abs(x[5m])", 'expected type instant vector in call to function "abs", got range vector', 5),
        ('label_replace(x, "a", "b", "c", 1)', 'expected type string in call to function "label_replace", got scalar', 33),
        ("sum(x[5m])", "expected type instant vector in aggregation expression, got range vector", 5),
        ("quantile(x, x)", "expected type scalar in aggregation parameter, got instant vector", 10),
        ("x[5m] * 2", "binary expression must contain only scalar and instant vector types", 1),
        ("x unless 1", 'set operator "unless" not allowed in binary scalar expression', 1),
        ("x and on(a) group_right(b) y", 'no grouping allowed for "and" operation', 1),
        ("1 + ignoring(a) 2", "vector matching only allowed between instant vectors", 1),
        ("1 < 2", "comparisons between scalars must use BOOL modifier", 3),
        ("x * bool y", "bool modifier can only be used on comparison operators", 3),
        ("-x[1m]", 'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"', 1),
        ("(1)[5m:]", "subquery is only allowed on instant vector, got scalar instead", 1),
        ('{a=""}', "vector selector must contain at least one non-empty matcher", 1),
        ("time(1)", 'expected 0 argument(s) in call to "time", got 1', 1),
    ],
)
def test_type_errors(query: str, message: str, column: int) -> None:
    with pytest.raises(PromQLParseError) as info:
        parse_expr(query)
    assert str(info.value) == f"1:{column}: parse error: {message}"


def test_types() -> None:
    assert type_of(parse_expr("1 + 1")) == "scalar"
    assert type_of(parse_expr("x + 1")) == "vector"
    assert type_of(parse_expr("x[5m]")) == "matrix"
    assert type_of(parse_expr("rate(x[5m])[10m:]")) == "matrix"
    assert type_of(parse_expr('"s"')) == "string"
    assert type_of(parse_expr("-(scalar(x))")) == "scalar"


def test_matching_is_normalised() -> None:
    vv = parse_expr("x + y")
    assert isinstance(vv, BinaryExpr) and vv.matching == VectorMatching()
    sets = parse_expr("x or on(a) y")
    assert isinstance(sets, BinaryExpr) and sets.matching == VectorMatching("many-to-many", True, ("a",))
    scalar = parse_expr("x + ignoring() 1")
    assert isinstance(scalar, BinaryExpr) and scalar.matching is None


def test_empty_regex_matcher_with_a_name_is_fine() -> None:
    assert type_of(parse_expr('x{a=~".*"}')) == "vector"
    assert type_of(parse_expr('{a=~".+"}')) == "vector"
