"""format_query and parse_query: canonical text and Prometheus 3's AST JSON."""

from __future__ import annotations

import pytest

from metricslib.collector.web.api.query_text import format_query, parse_query


def test_format_query_writes_prometheus_canonical_text() -> None:
    assert format_query("sum(rate(x[5m]))by(a)") == "sum by (a) (rate(x[5m]))"
    assert format_query('x{a="b"}offset 1h') == 'x{a="b"} offset 1h'


@pytest.mark.parametrize(("query", "message"), [
    ("", 'invalid parameter "query": 1:1: parse error: no expression found in input'),
    (None, 'invalid parameter "query": 1:1: parse error: no expression found in input'),
    ("1+", 'invalid parameter "query": 1:3: parse error: unexpected end of input'),
    ("x[step()]", 'invalid parameter "query": 1:3: parse error: unexpected <step> in range or subquery, '
                  "expected duration"),
])
def test_a_bad_query_is_named_with_its_position(query: str | None, message: str) -> None:
    with pytest.raises(ValueError) as info:
        format_query(query)
    assert str(info.value) == message
    with pytest.raises(ValueError, match="parse error"):
        parse_query(query)


def test_parse_query_selectors_carry_matchers_offsets_and_at() -> None:
    assert parse_query('rate(x{a=~"b.*"}[5m] offset 1m @ 100)') == {
        "type": "call",
        "func": {"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"},
        "args": [{
            "type": "matrixSelector", "name": "x", "range": 300_000, "offset": 60_000,
            "matchers": [{"name": "a", "value": "b.*", "type": "=~"},
                         {"name": "__name__", "value": "x", "type": "="}],
            "timestamp": 100_000, "startOrEnd": None,
        }],
    }


def test_parse_query_binary_aggregation_subquery_and_literals() -> None:
    tree = parse_query('-sum without (i) (topk(2, x)) / on (j) group_left (k) max_over_time(y[1h:1m] @ end()) > bool 1.5e3')
    assert tree["type"] == "binaryExpr" and tree["op"] == ">" and tree["bool"] is True
    assert tree["matching"] is None  # a vector compared with a scalar has no matching
    assert tree["rhs"] == {"type": "numberLiteral", "val": "1500"}
    div = tree["lhs"]
    assert div["op"] == "/"
    assert div["matching"] == {"card": "many-to-one", "labels": ["j"], "on": True, "include": ["k"]}
    neg = div["lhs"]
    assert neg["type"] == "unaryExpr" and neg["op"] == "-"
    agg = neg["expr"]
    assert (agg["type"], agg["op"], agg["grouping"], agg["without"], agg["param"]) == (
        "aggregation", "sum", ["i"], True, None)
    assert agg["expr"]["param"] == {"type": "numberLiteral", "val": "2"}
    sub = div["rhs"]["args"][0]
    assert (sub["type"], sub["range"], sub["step"], sub["offset"], sub["timestamp"], sub["startOrEnd"]) == (
        "subquery", 3_600_000, 60_000, 0, None, "end")
    assert parse_query('("a")') == {"type": "parenExpr", "expr": {"type": "stringLiteral", "val": "a"}}


def test_set_operators_are_many_to_many() -> None:
    tree = parse_query("a and b")
    assert tree["matching"] == {"card": "many-to-many", "labels": [], "on": False, "include": []}


def test_number_literals_are_plain_decimal_text() -> None:
    assert parse_query("1e20 + 0.1")["lhs"] == {"type": "numberLiteral", "val": "100000000000000000000"}
    assert parse_query("-Inf") == {"type": "numberLiteral", "val": "-Inf"}  # the sign folds in, as Prometheus
