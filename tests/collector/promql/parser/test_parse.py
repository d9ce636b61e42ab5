"""The PromQL parser: precedence, every syntax element, type checks and error positions."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Matcher
from metricslib.collector.promql.parser.ast import (
    AggregateExpr,
    BinaryExpr,
    Call,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorMatching,
    VectorSelector,
)
from metricslib.collector.promql.parser.parse import MAX_DEPTH, parse_expr, parse_matchers, type_of
from metricslib.collector.promql.parser.printer import format_expr
from metricslib.errors import PromQLParseError
from tests.helpers import require_tool


def shape(expr: object) -> str:
    """A compact rendering of the tree's structure, to assert precedence."""
    if isinstance(expr, NumberLiteral):
        return repr(expr.value)
    if isinstance(expr, VectorSelector):
        return expr.name or "{}"
    if isinstance(expr, BinaryExpr):
        return f"({shape(expr.lhs)} {expr.op} {shape(expr.rhs)})"
    if isinstance(expr, UnaryExpr):
        return f"({expr.op}{shape(expr.expr)})"
    if isinstance(expr, ParenExpr):
        return shape(expr.expr)
    raise AssertionError(expr)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("1 + 2 * 3", "(1.0 + (2.0 * 3.0))"),
        ("1 * 2 + 3", "((1.0 * 2.0) + 3.0)"),
        ("1 - 2 - 3", "((1.0 - 2.0) - 3.0)"),
        ("2 ^ 3 ^ 2", "(2.0 ^ (3.0 ^ 2.0))"),
        ("-2 ^ 2", "(-(2.0 ^ 2.0))"),
        ("2 ^ -1", "(2.0 ^ -1.0)"),
        ("-a * b", "((-a) * b)"),
        ("a + b > bool c", "((a + b) > c)"),
        ("a or b and c", "(a or (b and c))"),
        ("a and b or c unless d", "((a and b) or (c unless d))"),
        ("a > b and c < d", "((a > b) and (c < d))"),
        ("a atan2 b + c", "((a atan2 b) + c)"),
        ("a % b / c * d", "(((a % b) / c) * d)"),
        ("a AND b", "(a and b)"),
        ("1 - -1", "(1.0 - -1.0)"),
    ],
)
def test_precedence(query: str, tree: str) -> None:
    assert shape(parse_expr(query)) == tree


@pytest.mark.parametrize(
    ("query", "value"),
    [("12.34e6", 12340000.0), (".2", 0.2), ("+0.2", 0.2), ("-0.2e-6", -0.0000002), ("2.", 2.0),
     ("0x1F", 31.0), ("0X1f", 31.0), ("017", 15.0), ("1e3", 1000.0), ("+Inf", math.inf),
     ("inF", math.inf), ("-inf", -math.inf), ("5m", 300.0), ("1h30m", 5400.0)],
)  # fmt: skip
def test_number_literals(query: str, value: float) -> None:
    expr = parse_expr(query)
    assert isinstance(expr, NumberLiteral)
    assert expr.value == value


def test_nan_literal() -> None:
    expr = parse_expr("NaN")
    assert isinstance(expr, NumberLiteral)
    assert math.isnan(expr.value)


@pytest.mark.parametrize(
    ("query", "value"),
    [('"Foo"', "Foo"), ("'Foo'", "Foo"), ("`Fo\\o`", "Fo\\o"), ('" Foo "', " Foo "), ('""', "")],
)
def test_string_literals(query: str, value: str) -> None:
    assert parse_expr(query) == StringLiteral(value, pos=0)
    assert type_of(parse_expr(query)) == "string"


def test_vector_selector_with_every_matcher_op() -> None:
    expr = parse_expr('foo{a="1", b!="2", c=~"x.*", d!~"y",}')
    assert isinstance(expr, VectorSelector)
    assert expr.name == "foo"
    assert [str(m) for m in expr.matchers] == ['a="1"', 'b!="2"', 'c=~"x.*"', 'd!~"y"', '__name__="foo"']


def test_quoted_metric_and_label_names() -> None:
    expr = parse_expr('{"my.metric", "label.x"="v"}')
    assert isinstance(expr, VectorSelector)
    assert expr.name is None  # as in Prometheus, only a name before the braces sets it
    assert expr.matchers == (Matcher("__name__", "=", "my.metric"), Matcher("label.x", "=", "v"))
    both = parse_expr('{"bar", __name__="baz"}')  # allowed, as in Prometheus
    assert isinstance(both, VectorSelector) and len(both.matchers) == 2
    by_name = parse_expr('{__name__="up"}')
    assert isinstance(by_name, VectorSelector)
    assert by_name.name is None
    assert by_name.matchers == (Matcher("__name__", "=", "up"),)


def test_keywords_can_be_metric_and_label_names() -> None:
    for name in ("sum", "by", "offset", "and", "start", "without"):
        expr = parse_expr(f"{name}{{{name}='x'}}")
        assert isinstance(expr, VectorSelector) and expr.name == name
    agg = parse_expr("sum by (offset, and) (x)")
    assert isinstance(agg, AggregateExpr) and agg.grouping == ("offset", "and")


def test_offset_and_at_modifiers() -> None:
    expr = parse_expr("foo offset 5m @ 100")
    assert isinstance(expr, VectorSelector)
    assert (expr.offset_ms, expr.at) == (300_000, 100_000)
    neg = parse_expr("foo @ -1.5 offset -1h")
    assert isinstance(neg, VectorSelector)
    assert (neg.offset_ms, neg.at) == (-3_600_000, -1500)
    for fn in ("start", "end"):
        e = parse_expr(f"rate(foo[1m] @ {fn}())")
        assert isinstance(e, Call) and isinstance(e.args[0], MatrixSelector)
        assert e.args[0].vector.at == fn
    secs = parse_expr("foo offset 30")
    assert isinstance(secs, VectorSelector) and secs.offset_ms == 30_000


def test_range_and_subquery() -> None:
    m = parse_expr("foo[1h30m] offset 1m")
    assert isinstance(m, MatrixSelector)
    assert (m.range_ms, m.vector.offset_ms) == (5_400_000, 60_000)
    assert type_of(m) == "matrix"
    sq = parse_expr("rate(foo[5m])[30m:1m] offset 2m @ end()")
    assert isinstance(sq, SubqueryExpr)
    assert (sq.range_ms, sq.step_ms, sq.offset_ms, sq.at) == (1_800_000, 60_000, 120_000, "end")
    default_step = parse_expr("(a + b)[5m:]")
    assert isinstance(default_step, SubqueryExpr) and default_step.step_ms == 0
    numbers = parse_expr("foo[30]")
    assert isinstance(numbers, MatrixSelector) and numbers.range_ms == 30_000


def test_aggregations() -> None:
    a = parse_expr("sum without (a, b) (x)")
    assert isinstance(a, AggregateExpr) and (a.op, a.grouping, a.without) == ("sum", ("a", "b"), True)
    b = parse_expr("topk(3, x) by (job)")
    assert isinstance(b, AggregateExpr)
    assert b.param == NumberLiteral(3.0, pos=5) and b.grouping == ("job",)
    c = parse_expr('count_values("v", x)')
    assert isinstance(c, AggregateExpr) and c.param == StringLiteral("v", pos=13)
    d = parse_expr("SUM(x)")
    assert isinstance(d, AggregateExpr) and d.op == "sum"


def test_vector_matching_modifiers() -> None:
    e = parse_expr("a * on(x, y) group_left(z) b")
    assert isinstance(e, BinaryExpr)
    assert e.matching == VectorMatching("many-to-one", True, ("x", "y"), ("z",))
    f = parse_expr("a / ignoring(x) group_right b")
    assert isinstance(f, BinaryExpr)
    assert f.matching == VectorMatching("one-to-many", False, ("x",), ())
    g = parse_expr("a and b")
    assert isinstance(g, BinaryExpr) and g.matching == VectorMatching("many-to-many")
    h = parse_expr("a + 1")
    assert isinstance(h, BinaryExpr) and h.matching is None
    i = parse_expr("a == bool b")
    assert isinstance(i, BinaryExpr) and i.return_bool


def test_function_calls_and_types() -> None:
    assert type_of(parse_expr("time()")) == "scalar"
    assert type_of(parse_expr("vector(1)")) == "vector"
    assert type_of(parse_expr("scalar(x) + 1")) == "scalar"
    call = parse_expr('label_join(x, "d", ",", "a", "b", "c")')
    assert isinstance(call, Call) and len(call.args) == 6
    assert isinstance(parse_expr("round(x)"), Call)
    assert isinstance(parse_expr("hour()"), Call)


def test_comments_and_newlines() -> None:
    expr = parse_expr("sum(\n  x # the series\n) by (job)")
    assert isinstance(expr, AggregateExpr)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("foo{", "1:5: parse error: unexpected end of input inside braces"),
        ("", "1:1: parse error: no expression found in input"),
        ("# only a comment\n", "1:1: parse error: no expression found in input"),
        ("*1", "1:1: parse error: unexpected <op:*>"),
        ("@@", "1:1: parse error: unexpected <op:@>"),
        ("a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"),
        ("1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"),
        ("(1))", "1:5: parse error: unexpected right parenthesis ')'"),
        ("((1)", "1:5: parse error: unclosed left parenthesis"),
        ("foo[5m", "1:7: parse error: unclosed left bracket"),
        ("foo}", "1:4: parse error: unexpected character: '}'"),
        ('foo{a="b", {', "1:12: parse error: unexpected left brace '{'"),
        ("foo{a}", '1:6: parse error: unexpected "}" in label matching, expected label matching operator'),
        ("foo{a=b}", '1:7: parse error: unexpected identifier "b" in label matching, expected string'),
        ("}", "1:1: parse error: unexpected character: '}'"),
        ('some_metric{a:b="b"}', "1:14: parse error: unexpected character inside braces: ':'"),
        ('foo{a>="b"}', "1:6: parse error: unexpected character inside braces: '>'"),
        ("foo{1}", "1:5: parse error: unexpected character inside braces: '1'"),
        ("foo{,}", '1:5: parse error: unexpected "," in label matching, expected identifier or "}"'),
        ('foo{__name__ == "bar"}', '1:15: parse error: unexpected "=" in label matching, expected string'),
        ('foo{"bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'),
        ("sum(x) by (1)", '1:12: parse error: unexpected number "1" in grouping opts, expected label'),
        ('foo "longstringvalue"', '1:5: parse error: unexpected string "\\"longstrin"...'),
        ("foo offset", "1:11: parse error: unexpected end of input in offset, expected duration"),
        ("rate(foo)", '1:6: parse error: expected type range vector in call to function "rate", got instant vector'),
        ("rate(foo[5m], 1)", '1:1: parse error: expected 1 argument(s) in call to "rate", got 2'),
        ("round()", '1:1: parse error: expected at least 1 argument(s) in call to "round", got 0'),
        ("round(a, 1, 2)", '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'),
        ("abs(1)", '1:5: parse error: expected type instant vector in call to function "abs", got scalar'),
        ("1 > 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
        ("a + bool b", "1:3: parse error: bool modifier can only be used on comparison operators"),
        ("a and 1", '1:1: parse error: set operator "and" not allowed in binary scalar expression'),
        ("a or on(x) group_left b", '1:1: parse error: no grouping allowed for "or" operation'),
        ("1 + on(x) a", "1:1: parse error: vector matching only allowed between instant vectors"),
        ("a[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"),
        ('1 + "a"', "1:5: parse error: binary expression must contain only scalar and instant vector types"),
        ("a + on(b) group_left(b) c", '1:3: parse error: label "b" must not occur in ON and GROUP clause at once'),
        ("(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors"),
        ("foo offset 5m[1m]", "1:14: parse error: no offset modifiers allowed before range"),
        ("foo @ 1 [1m]", "1:9: parse error: no @ modifiers allowed before range"),
        ("foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"),
        ("foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"),
        ("sum(x) offset 1m", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("foo[5m][1m:]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
        ("sum(x, y)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"),
        ("topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
        ("sum()", "1:1: parse error: no arguments for aggregate expression provided"),
        ('topk("a", x)', "1:6: parse error: expected type scalar in aggregation parameter, got string"),
        ("count_values(1, x)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
        ("sum(1)", "1:5: parse error: expected type instant vector in aggregation expression, got scalar"),
        ("unknown(x)", '1:1: parse error: unknown function with name "unknown"'),
        ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ('{a=~".*"}', "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ('foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'),
        ('-"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'),
        ("x +", "1:4: parse error: unexpected end of input"),
        ("foo bar", '1:5: parse error: unexpected identifier "bar"'),
        ("(1", "1:3: parse error: unclosed left parenthesis"),
        ("(1 2)", '1:4: parse error: unexpected number "2"'),
        ("foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"),
        ("a +\n  $", "2:3: parse error: unexpected character: '$'"),
    ],
)
def test_errors_read_like_prometheus(query: str, error: str) -> None:
    with pytest.raises(PromQLParseError) as info:
        parse_expr(query)
    assert str(info.value) == error
    line, col = (int(x) for x in error.split(":")[:2])
    lines = query.split("\n")
    assert info.value.position == sum(len(x) + 1 for x in lines[: line - 1]) + col - 1


def test_invalid_regex_points_at_the_matcher_with_go_wording() -> None:
    with pytest.raises(PromQLParseError) as info:
        parse_expr('foo{a=~"(x"}')
    assert str(info.value) == "1:5: parse error: error parsing regexp: missing closing ): `^(?:(x)$`"
    assert info.value.position == 4


def test_go_regex_flags_are_accepted_and_value_kept() -> None:
    expr = parse_expr('x{g=~".*((?i)DUC).*"}')
    assert isinstance(expr, VectorSelector)
    m = expr.matchers[0]
    assert m.value == ".*((?i)DUC).*"
    assert m.matches("proDUCtion") and m.matches("product") is True and not m.matches("prod")


def test_experimental_functions_can_be_disabled() -> None:
    parse_expr("sort_by_label(x, 'a')")
    with pytest.raises(PromQLParseError, match='function "sort_by_label" is not enabled'):
        parse_expr("sort_by_label(x, 'a')", enable_experimental=False)
    with pytest.raises(PromQLParseError, match="experimental"):
        parse_expr("limitk(1, x)", enable_experimental=False)


_FRAGMENTS = [
    *'abxz_:09.eE+-*/%^()[]{},=!~<>@"\'` \n#',
    "sum", "by", "offset", "on", "group_left", "bool", "and", "rate", "5m", "1h1h", "Inf", "step()",
    "start()", "topk", "label_replace", '"s"', 'x{a="b"}', "[5m:1m]", "@ 10", "ignoring",
]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_any_text_parses_or_raises_a_parse_error(query: str) -> None:
    """Bad input gets a PromQLParseError with a position, never another exception."""
    try:
        parse_expr(query)
    except PromQLParseError as exc:
        assert re.match(r"^\d+:\d+: parse error: ", str(exc))
        assert 0 <= exc.position <= len(query)


# Queries whose wording Prometheus 2.42 (the promtool installed here) and 3.x share;
# 3.x-only syntax (quoted names, duration expressions) is tested above instead.
AGAINST_PROMETHEUS = [
    "foo{", "rate(foo)", "rate(foo[5m], 1)", "round()", "round(a, 1, 2)", "abs(1)", "1 > 1",
    "a + bool b", "a and 1", "a or on(x) group_left b", "1 + on(x) a", "a[5m] + 1", '1 + "a"',
    "a + on(b) group_left(b) c", "(foo)[5m]", "foo offset 5m[1m]", "foo @ 1 [1m]",
    "foo offset 1m offset 2m", "foo @ 1 @ 2", "sum(x) offset 1m", "foo[5m][1m:]", "(1)[5m:]",
    "sum(x, y)", "topk(x)", "sum()", 'topk("a", x)', "count_values(1, x)", "sum(1)", "unknown(x)",
    "{}", '{a=~".*"}', 'foo{__name__="bar"}', '-"a"', "x +", "foo bar", "(1", "(1 2)", "*1",
    "a - on(b) ignoring(c) d", "1 =~ 1", "(1))", "((1)", "foo[5m", "foo}", "foo{a}", "foo{a=b}",
    "sum(x) by (1)", 'foo "longstringvalue"', "foo offset", "}", 'some_metric{a:b="b"}',
    'foo{a>="b"}', "foo{1}", "foo{,}", 'foo{__name__ == "bar"}', '"\\c"', '"\\x."', "1a",
    "x[0s]", "sum by (a) (x) by (b)", 'label_replace(x, "a", "b", "c", 1)', "-x[1m]", "time(1)",
    'foo{a="b",}[5m] offset', "rate(x[5m]", "x[5m:1m:]", "foo @ NaN", "1 + ",
    "sum without(==)(some_metric)", "sum (some_metric) by test",
    'x{a=~"*"}', 'x{a=~"a**"}', 'x{a=~"[z-a]"}', 'x{a=~"\\\\q"}', 'x{a=~"x|+"}', "rate(x[5m],)",
    "sum by (a) y", "topk(x,)", "x = 1", "x § y", "sum by (a b) (y)", 'x{a"b"}',
    "sum(\n  github_stars\n) +", "github_stars)", "sum(", "a / group_right b",
    "rate(x[5m])[5m]",
    # and some that both accept
    'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))', "-2 ^ 2", "a and b or c unless d",
    "x @ start()", "rate(x[5m] @ end() offset -1m)", "max_over_time(rate(x[1m])[1h:1m])",
    "a * on(x) group_left(y) b", "topk by (a) (3, x)", 'label_join(x, "d", ",", "a", "b")',
    "0x1F + 017 + 1e3 + .5 + Inf", "count_values without () ('v', x)", "x offset 1h30m",
    "sum(x) without (offset, by)", "sort_desc(x > bool 1)", "hour()", "vector(time())",
]  # fmt: skip


@pytest.mark.integration
def test_errors_match_prometheus_itself(tmp_path: Path) -> None:
    """Every query is checked by the real promtool; its verdict and message must be ours."""
    promtool = require_tool("promtool", "prometheus")
    lines = ["groups:", "  - name: g", "    rules:"]
    for q in AGAINST_PROMETHEUS:
        lines += ["      - record: r", "        expr: " + json.dumps(q)]
    rules = tmp_path / "rules.yml"
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    theirs: dict[int, str] = {}
    for m in re.finditer(r"rule (\d+), \"r\": could not parse expression: (.*)", out.stdout + out.stderr):
        theirs[int(m.group(1)) - 1] = m.group(2).strip()
    mismatches = []
    for i, q in enumerate(AGAINST_PROMETHEUS):
        try:
            parse_expr(q)
            ours = None
        except PromQLParseError as exc:
            ours = str(exc)
        if ours != theirs.get(i):
            mismatches.append(f"{q!r}\n  ours:       {ours}\n  Prometheus: {theirs.get(i)}")
    assert not mismatches, "\n".join(mismatches)


def test_parse_matchers_takes_only_a_selector() -> None:
    assert parse_matchers('up{job="api"}').matchers == (Matcher("job", "=", "api"), Matcher("__name__", "=", "up"))
    # The HTTP API words the "non-empty matcher" rule itself, so this parses.
    assert parse_matchers('{job=~".*"}').matchers == (Matcher("job", "=~", ".*"),)
    for query, error in [("sum(x)", '1:4: parse error: unexpected "("'), ("1", '1:1: parse error: unexpected number "1"'),
                         ("", "1:1: parse error: unexpected end of input"),
                         ("x offset 5m", "1:3: parse error: unexpected <offset>")]:  # fmt: skip
        with pytest.raises(PromQLParseError) as info:
            parse_matchers(query)
        assert str(info.value) == error


def test_anchored_and_smoothed_only_when_asked_for() -> None:
    with pytest.raises(PromQLParseError, match='unexpected identifier "anchored"'):
        parse_expr("rate(x[5m] anchored)")
    call = parse_expr("increase(x[5m] anchored offset 1m)", extended_range_selectors=True)
    assert isinstance(call, Call) and isinstance(call.args[0], MatrixSelector)
    inner = call.args[0].vector
    assert (inner.anchored, inner.smoothed, inner.offset_ms) == (True, False, 60_000)
    assert format_expr(call) == "increase(x[5m] anchored offset 1m)"
    instant = parse_expr("x smoothed", extended_range_selectors=True)
    assert isinstance(instant, VectorSelector) and instant.smoothed
    for query, message in [("x anchored", "anchored modifier must be preceded by a range vector selector"),
                           ("sum(x) smoothed", "smoothed modifier must be preceded by a vector selector"),
                           ("x[1m] anchored smoothed", "may be set only once")]:  # fmt: skip
        with pytest.raises(PromQLParseError, match=message):
            parse_expr(query, extended_range_selectors=True)


@pytest.mark.parametrize(
    "make", [lambda d: "(" * d + "1" + ")" * d, lambda d: "-" * d + "x", lambda d: "1 + (1" * d + ")" * d,
             lambda d: "x" + " ^ x" * d, lambda d: "abs(" * d + "x" + ")" * d],
)  # fmt: skip
def test_absurd_nesting_is_a_parse_error_not_a_crash(make: Any) -> None:
    assert parse_expr(make(50)) is not None
    for depth in (MAX_DEPTH + 1, 5000):
        with pytest.raises(PromQLParseError, match="nested too deeply"):
            parse_expr(make(depth))


@pytest.mark.parametrize("op", ["or", "+", "and on (job)", "> bool", "unless"])
def test_flat_chains_are_not_nesting(op: str) -> None:
    # Prometheus 2.42 accepts a chain of 3,000 terms (the reproduction):
    # a left-deep chain is written flat, so it does not count towards MAX_DEPTH,
    # and checking and printing it loop instead of recursing per term.
    query = f" {op} ".join(["up"] * 3000)
    expr = parse_expr(query)
    assert isinstance(expr, BinaryExpr)
    assert format_expr(expr) == query
    assert parse_expr("abs(" * 50 + f"sum({query})" + ")" * 50) is not None
    with pytest.raises(PromQLParseError, match="nested too deeply"):
        parse_expr("(" * MAX_DEPTH + query + ")" * MAX_DEPTH)


def test_flat_chain_type_errors_are_still_found() -> None:
    with pytest.raises(PromQLParseError, match='set operator "or" not allowed in binary scalar expression'):
        parse_expr(" + ".join(["1"] * 2000) + " or 1")
    with pytest.raises(PromQLParseError, match="binary expression must contain only scalar and instant vector types"):
        parse_expr(" or ".join(["up"] * 2000) + ' or "x"')


@pytest.mark.parametrize(
    ("query", "message"),
    # Prometheus 2.42's answers (promtool check rules); Go's durations end at ~292 years.
    [("up[99999999999999999999y]", "1:4: parse error: duration out of range"),
     ("up offset 9999999999999y", "1:11: parse error: duration out of range"),
     ("up[293y]", "1:4: parse error: duration out of range"),
     ("up offset 293y", "1:11: parse error: duration out of range"),
     ("rate(up[5m])[99999999999999999999y:1m]", "1:14: parse error: duration out of range"),
     ("rate(up[5m])[5m:9999999999999y]", "1:17: parse error: duration out of range")],
)  # fmt: skip
def test_durations_out_of_range_are_parse_errors(query: str, message: str) -> None:
    with pytest.raises(PromQLParseError) as info:
        parse_expr(query)
    assert str(info.value) == message


def test_longest_durations_still_parse() -> None:
    assert parse_expr("up[292y]") is not None
    assert parse_expr("up offset 292y") is not None
    with pytest.raises(PromQLParseError, match="duration out of range"):
        parse_expr("up[1e20]")
