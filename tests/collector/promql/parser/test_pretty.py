"""Prometheus 2.42's format_query text: one line up to 100 characters, split beyond.

The differential test (``tests/collector/test_differential_status.py``) holds
the same texts against a real Prometheus 2.42; these pin the rules offline.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Matcher
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.parser.pretty import go_duration, go_float, pretty
from metricslib.collector.promql.parser.printer import format_expr
from metricslib.model import LABEL_NAME_RE
from tests.collector.promql.parser.test_printer import expressions, normalise


@pytest.mark.parametrize(("query", "text"), [
    ("sum(rate(x[5m]))by(a)", "sum by (a) (rate(x[5m]))"),
    ('x{b="1",a=~"2"}', 'x{a=~"2",b="1"}'),
    ("x offset 5m @ 100", "x @ 100.000 offset 5m"),
    ("a / on(c) group_left b", "a / on (c) group_left () b"),
    ("a / ignoring() group_left b", "a / b"),
    ("x[90d:1w]", "x[90d:1w]"),
    ("1750003600", "1.7500036e+09"),
    ("count_values without() (\"v\", x)", 'count_values without () ("v", x)'),
])
def test_one_line_spelling(query: str, text: str) -> None:
    assert pretty(parse_expr(query)) == text


def test_long_expressions_split_node_by_node() -> None:
    query = ('topk(5, sum by (instance, job) (rate(http_requests_total{job="api", code=~"5.."}[5m])) '
             '/ sum by (instance, job) (rate(http_requests_total[5m])))')
    assert pretty(parse_expr(query)) == "\n".join([
        "topk(",
        "  5,",
        '    sum by (instance, job) (rate(http_requests_total{code=~"5..",job="api"}[5m]))',
        "  /",
        "    sum by (instance, job) (rate(http_requests_total[5m]))",
        ")",
    ])


@pytest.mark.parametrize(("ms", "text"), [
    (0, "0s"), (90 * 86_400_000, "90d"), (14 * 86_400_000, "2w"), (15 * 86_400_000, "15d"),
    (365 * 86_400_000, "1y"), (5_400_500, "1h30m500ms"),
])
def test_durations_use_years_and_weeks_only_when_exact(ms: int, text: str) -> None:
    assert go_duration(ms) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "-0"), (1e6, "1e+06"), (123456.0, "123456"), (1e-5, "1e-05"),
    (0.0001, "0.0001"), (1.5, "1.5"), (-2e21, "-2e+21"), (math.inf, "+Inf"), (math.nan, "NaN"),
])
def test_numbers_as_go_prints_float64(value: float, text: str) -> None:
    assert go_float(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_floats_read_back(value: float) -> None:
    assert float(go_float(value)) == value


def _nodes(node: object) -> Iterator[object]:
    if isinstance(node, tuple):
        for item in node:
            yield from _nodes(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        yield node
        for f in dataclasses.fields(node):
            yield from _nodes(getattr(node, f.name))


def _spellable_in_242(tree: ast.Expr) -> bool:
    """2.42 has no quoted (UTF-8) label names, and writes ``ignoring () group_left`` as nothing."""
    for node in _nodes(tree):
        names: tuple[str, ...] = ()
        if isinstance(node, Matcher):
            names = (node.name,)
        elif isinstance(node, ast.AggregateExpr):
            names = node.grouping
        elif isinstance(node, ast.VectorMatching):
            names = node.labels + node.include
            if node.card in ("many-to-one", "one-to-many") and not node.labels and not node.on:
                return False
        if not all(LABEL_NAME_RE.fullmatch(n) for n in names):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_pretty_text_parses_back_to_the_same_tree(expr: ast.Expr) -> None:
    parsed = parse_expr(format_expr(expr))  # a tree as format_query gets it, parentheses included
    assume(_spellable_in_242(parsed))
    text = pretty(parsed)
    assert repr(normalise(parse_expr(text))) == repr(normalise(parsed)), text
