"""The PromQL printer: canonical text, and print-then-parse gives back the same tree."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Matcher
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.parser.functions import FUNCTIONS
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.parser.printer import format_duration, format_expr, format_number


def normalise(node: Any) -> Any:
    """Drop positions and parentheses, which printing is free to change."""
    if isinstance(node, ast.ParenExpr):
        return normalise(node.expr)
    if isinstance(node, tuple):
        return tuple(normalise(n) for n in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type) and not isinstance(node, Matcher):
        changes = {f.name: normalise(getattr(node, f.name)) for f in dataclasses.fields(node)}
        if "pos" in changes:
            changes["pos"] = 0
        if isinstance(node, ast.VectorSelector):
            # Names PromQL cannot write bare come back as {"name"}, which sets no name
            # and may move the name matcher; matcher order carries no meaning.
            changes["name"] = None
            changes["matchers"] = tuple(sorted(node.matchers, key=lambda m: (m.name, m.op, m.value)))
        return dataclasses.replace(node, **changes)
    return node


@pytest.mark.parametrize(
    "query",
    [
        'sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1m))',
        "a + on (x) group_left (y) b",
        "a / ignoring (x) group_right b",
        "a and on (x) b",
        "a > bool 1",
        "topk(3, x)",
        'count_values("v", x)',
        "sum without () (x)",
        "x @ 100.000 offset -5m",
        "rate(x[1h30m] @ start())",
        "max_over_time(rate(x[5m])[30m:1m] @ end() offset 1m)",
        "(a + b)[5m:]",
        "-(a + b)",
        "-a ^ 2",
        "(-1) ^ 2",
        "2 ^ 3 ^ 2",
        "(2 ^ 3) ^ 2",
        "a - (b - c)",
        '{__name__="my.metric", "label.x"="v"}',
        '{__name__="sum"}',
        '{__name__="x"}',
        '"a\\nb"',
        "time()",
        "NaN",
        "+Inf",
        "1e+22",
        "0.1",
    ],
)
def test_canonical_text_is_stable(query: str) -> None:
    assert format_expr(parse_expr(query)) == query


def test_formatting_helpers() -> None:
    assert format_duration(5_400_000) == "1h30m"
    assert format_duration(90_061_001) == "1d1h1m1s1ms"
    assert format_duration(-60_000) == "-1m"
    assert format_duration(0) == "0s"
    assert format_number(1e6) == "1000000"
    assert format_number(-0.0) == "-0"
    assert format_number(math.inf) == "+Inf"


# --- random well-typed trees -------------------------------------------------------------

_NAMES = st.sampled_from(["up", "http_requests_total", "job:rate5m", "sum", "by", "offset", "inf",
                          "bool", "a.b", "x-y", "é"])  # fmt: skip
_LABELS = st.sampled_from(["job", "instance", "le", "on", "a.b", "группа"])
_VALUES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_REGEXES = st.sampled_from(["a.*", "x|y", "[0-9]+", "(?i)foo", ".+", "a\\.b"])
_DURATIONS = st.integers(1, 10**9)
_OFFSETS = st.one_of(st.just(0), st.integers(-(10**9), 10**9))
_ATS = st.one_of(st.none(), st.sampled_from(["start", "end"]), st.integers(-(10**12), 10**12))
_ARITH = ["+", "-", "*", "/", "%", "^", "atan2"]
_CMP = ["==", "!=", "<", "<=", ">", ">="]


@st.composite
def selectors(draw: st.DrawFn) -> ast.VectorSelector:
    name = draw(st.one_of(st.none(), _NAMES))
    matchers = []
    for label in draw(st.lists(_LABELS, max_size=2, unique=True)):
        op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
        value = draw(_REGEXES if op in ("=~", "!~") else _VALUES)
        matchers.append(Matcher(label, op, value))
    if name is None:
        matchers.append(Matcher("__name__", "=", draw(st.sampled_from(["up", "x"]))))
    else:
        matchers.append(Matcher("__name__", "=", name))
    return ast.VectorSelector(name, tuple(matchers), draw(_OFFSETS), draw(_ATS))


def numbers() -> st.SearchStrategy[ast.NumberLiteral]:
    return st.builds(ast.NumberLiteral, st.floats(allow_nan=False, width=64))


def _binary(op: str, lhs: ast.Expr, rhs: ast.Expr, vector: bool, rb: bool = False,
            matching: ast.VectorMatching | None = None) -> ast.BinaryExpr:  # fmt: skip
    if vector and matching is None:
        matching = ast.VectorMatching("many-to-many" if op in ast.SET_OPS else "one-to-one")
    return ast.BinaryExpr(op, lhs, rhs, matching if vector else None, rb)


def scalars(depth: int) -> st.SearchStrategy[ast.Expr]:
    base: st.SearchStrategy[ast.Expr] = st.one_of(
        numbers(), st.just(ast.Call("time", ())), st.just(ast.Call("pi", ()))
    )
    if depth <= 0:
        return base
    sub = scalars(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda v: ast.Call("scalar", (v,)), vectors(depth - 1)),
        st.builds(lambda op, a, b: _binary(op, a, b, False), st.sampled_from(_ARITH), sub, sub),
        st.builds(lambda op, a, b: _binary(op, a, b, False, True), st.sampled_from(_CMP), sub, sub),
        st.builds(lambda e: ast.UnaryExpr("-", e), sub.filter(lambda e: not isinstance(e, ast.NumberLiteral))),
        st.builds(ast.ParenExpr, sub),
    )


@st.composite
def matchings(draw: st.DrawFn, op: str) -> ast.VectorMatching:
    on = draw(st.booleans())
    labels = tuple(draw(st.lists(_LABELS, max_size=2, unique=True)))
    if op in ast.SET_OPS:
        return ast.VectorMatching("many-to-many", on, labels)
    card = draw(st.sampled_from(["one-to-one", "many-to-one", "one-to-many"]))
    include: tuple[str, ...] = ()
    if card != "one-to-one":
        include = tuple(x for x in draw(st.lists(_LABELS, max_size=2, unique=True)) if not (on and x in labels))
    return ast.VectorMatching(card, on, labels, include)  # type: ignore[arg-type]


def matrices(depth: int) -> st.SearchStrategy[ast.Expr]:
    plain = selectors().map(lambda vs: dataclasses.replace(vs))
    ranged = st.builds(ast.MatrixSelector, plain, _DURATIONS)
    if depth <= 0:
        return ranged
    return st.one_of(
        ranged,
        st.builds(ast.SubqueryExpr, vectors(depth - 1), _DURATIONS, st.one_of(st.just(0), _DURATIONS),
                  _OFFSETS, _ATS),
    )  # fmt: skip


def vectors(depth: int) -> st.SearchStrategy[ast.Expr]:
    base: st.SearchStrategy[ast.Expr] = selectors()
    if depth <= 0:
        return base
    sub = vectors(depth - 1)

    @st.composite
    def vector_binary(draw: st.DrawFn) -> ast.Expr:
        op = draw(st.sampled_from(_ARITH + _CMP + ["and", "or", "unless"]))
        rb = op in _CMP and draw(st.booleans())
        return _binary(op, draw(sub), draw(sub), True, rb, draw(matchings(op)))

    @st.composite
    def mixed_binary(draw: st.DrawFn) -> ast.Expr:
        op = draw(st.sampled_from(_ARITH + _CMP))
        v, s = draw(sub), draw(scalars(depth - 1))
        lhs, rhs = (v, s) if draw(st.booleans()) else (s, v)
        return _binary(op, lhs, rhs, False, op in _CMP and draw(st.booleans()))

    @st.composite
    def aggregate(draw: st.DrawFn) -> ast.Expr:
        op = draw(st.sampled_from(["sum", "avg", "count", "max", "topk", "quantile", "count_values"]))
        param: ast.Expr | None = None
        if op in ("topk", "quantile"):
            param = draw(scalars(depth - 1))
        elif op == "count_values":
            param = ast.StringLiteral(draw(_VALUES))
        grouping = tuple(draw(st.lists(_LABELS, max_size=2, unique=True)))
        return ast.AggregateExpr(op, draw(sub), param, grouping, draw(st.booleans()))

    @st.composite
    def call(draw: st.DrawFn) -> ast.Expr:
        name = draw(st.sampled_from(["rate", "abs", "vector", "clamp", "round", "label_replace",
                                     "histogram_quantile", "quantile_over_time", "hour"]))  # fmt: skip
        sig = FUNCTIONS[name]
        count = draw(st.integers(sig.min_args, sig.max_args or sig.min_args + 2))
        args: list[ast.Expr] = []
        for i in range(count):
            t = sig.arg_type(i)
            strategy = {"vector": sub, "scalar": scalars(depth - 1), "matrix": matrices(depth - 1),
                        "string": st.builds(ast.StringLiteral, _VALUES)}[t]  # fmt: skip
            args.append(draw(strategy))
        return ast.Call(name, tuple(args))

    return st.one_of(
        base,
        vector_binary(),
        mixed_binary(),
        aggregate(),
        call(),
        st.builds(lambda e: ast.UnaryExpr("-", e), sub),
        st.builds(ast.ParenExpr, sub),
    )


def expressions() -> st.SearchStrategy[ast.Expr]:
    return st.one_of(vectors(3), scalars(2), matrices(2), st.builds(ast.StringLiteral, _VALUES))


@settings(max_examples=400, deadline=None)
@given(expressions())
def test_print_then_parse_is_identity(expr: ast.Expr) -> None:
    text = format_expr(expr)
    assert repr(normalise(parse_expr(text))) == repr(normalise(expr)), text
