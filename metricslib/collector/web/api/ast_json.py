"""A PromQL syntax tree as the JSON of Prometheus 3's ``/api/v1/parse_query``.

Prometheus 2.42 has no such endpoint (it answers 404); Prometheus 3 serves it
for its UI's tree view, and this is that shape: every node has ``type``
(``aggregation``, ``binaryExpr``, ``call``, ``matrixSelector``, ``subquery``,
``numberLiteral``, ``parenExpr``, ``stringLiteral``, ``unaryExpr``,
``vectorSelector``), durations are milliseconds, ``@ <time>`` is
``timestamp`` (ms) and ``@ start()``/``@ end()`` is ``startOrEnd``. Number
values are strings written in plain decimal notation, as Go's
``FormatFloat(v, 'f', -1, 64)`` writes them (``model/value_text.py``).
"""

from __future__ import annotations

from typing import Any

from metricslib.collector.model import Matcher
from metricslib.collector.model.value_text import format_float
from metricslib.collector.promql.parser.ast import (
    AggregateExpr,
    AtModifier,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
)
from metricslib.collector.promql.parser.functions import FUNCTIONS

__all__ = ["ast_json"]


def _matchers(matchers: tuple[Matcher, ...]) -> list[dict[str, str]]:
    return [{"name": m.name, "value": m.value, "type": m.op} for m in matchers]


def _at(at: AtModifier) -> dict[str, Any]:
    if at is None:
        return {"timestamp": None, "startOrEnd": None}
    if isinstance(at, str):
        return {"timestamp": None, "startOrEnd": at}
    return {"timestamp": at, "startOrEnd": None}


def _selector(vs: VectorSelector) -> dict[str, Any]:
    return {"name": vs.name or "", "offset": vs.offset_ms, "matchers": _matchers(vs.matchers), **_at(vs.at)}


def ast_json(expr: Expr | None) -> Any:
    """The JSON-ready tree of ``expr`` (durations already resolved to milliseconds)."""
    if expr is None:
        return None
    if isinstance(expr, AggregateExpr):
        return {"type": "aggregation", "op": expr.op, "expr": ast_json(expr.expr),
                "param": ast_json(expr.param), "grouping": list(expr.grouping), "without": expr.without}
    if isinstance(expr, BinaryExpr):
        m = expr.matching
        matching = None if m is None else {
            "card": m.card, "labels": list(m.labels), "on": m.on, "include": list(m.include)}
        return {"type": "binaryExpr", "op": expr.op, "lhs": ast_json(expr.lhs), "rhs": ast_json(expr.rhs),
                "matching": matching, "bool": expr.return_bool}
    if isinstance(expr, Call):
        sig = FUNCTIONS[expr.func]
        return {"type": "call",
                "func": {"name": sig.name, "argTypes": list(sig.arg_types), "variadic": sig.variadic,
                         "returnType": sig.return_type},
                "args": [ast_json(a) for a in expr.args]}
    if isinstance(expr, MatrixSelector):
        sel = _selector(expr.vector)
        return {"type": "matrixSelector", "name": sel.pop("name"), "range": expr.range_ms, **sel}
    if isinstance(expr, SubqueryExpr):
        return {"type": "subquery", "expr": ast_json(expr.expr), "range": expr.range_ms,
                "offset": expr.offset_ms, "step": expr.step_ms, **_at(expr.at)}
    if isinstance(expr, NumberLiteral):
        return {"type": "numberLiteral", "val": format_float(expr.value)}
    if isinstance(expr, ParenExpr):
        return {"type": "parenExpr", "expr": ast_json(expr.expr)}
    if isinstance(expr, StringLiteral):
        return {"type": "stringLiteral", "val": expr.value}
    if isinstance(expr, UnaryExpr):
        return {"type": "unaryExpr", "op": expr.op, "expr": ast_json(expr.expr)}
    return {"type": "vectorSelector", **_selector(expr)}
