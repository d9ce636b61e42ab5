"""A syntax tree as Prometheus 2.42's ``/api/v1/format_query`` writes it.

2.42 prettifies (``Expr.Pretty(0)``): an expression that fits in 100
characters stays on one line in 2.42's spelling, a longer one is split
node by node with two-space indents: a binary operator on its own line
between its indented operands, a call's or aggregation's arguments one per
line inside the parentheses. 2.42's spelling differs from the canonical one
of ``printer.py`` (Prometheus 3): matchers are sorted and joined by ``,``,
numbers are Go's ``%v`` (``1.7500036e+09``), ``@`` comes before ``offset``
and is written with three decimals, years and weeks appear in durations
only when exact, and ``group_left``/``group_right`` always carry their
parenthesised label list.
"""

from __future__ import annotations

import math
from decimal import Decimal

from metricslib.collector.model import METRIC_NAME, Matcher
from metricslib.collector.model.quoting import go_quote
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
    VectorMatching,
    VectorSelector,
)
from metricslib.collector.promql.parser.functions import AGGREGATORS_WITH_PARAM

__all__ = ["MAX_LINE", "go_duration", "go_float", "pretty", "text_242"]

MAX_LINE = 100
_INDENT = "  "
_UNITS = ((("y", 31_536_000_000, True)), ("w", 604_800_000, True), ("d", 86_400_000, False),
          ("h", 3_600_000, False), ("m", 60_000, False), ("s", 1000, False), ("ms", 1, False))  # fmt: skip


def go_duration(ms: int) -> str:
    """Prometheus's ``model.Duration.String()``: ``90d`` rather than ``12w6d``; ``0s`` for zero."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, size, exact in _UNITS:
        if exact and ms % size:
            continue
        if ms >= size:
            out += f"{ms // size}{unit}"
            ms %= size
    return out


def go_float(value: float) -> str:
    """Go's ``fmt.Sprint(float64)``: shortest digits, in exponent form when the exponent is
    below -4 or at least 6 (``1e+06``, ``1.5e-05``, ``123456``); ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits_t, exp = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digits_t))
    point = len(digits) + exp  # position of the decimal point within digits
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{neg}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return neg + digits + "0" * (point - len(digits))
    return f"{neg}{digits[:point]}.{digits[point:]}"


def _at_offset(at: AtModifier, offset_ms: int) -> str:
    text = ""
    if isinstance(at, int):
        text = f" @ {at / 1000:.3f}"
    elif at is not None:
        text = f" @ {at}()"
    if offset_ms > 0:
        text += f" offset {go_duration(offset_ms)}"
    elif offset_ms < 0:
        text += f" offset -{go_duration(-offset_ms)}"
    return text


def _matcher(m: Matcher) -> str:
    return f"{m.name}{m.op}{go_quote(m.value)}"


def _selector(vs: VectorSelector, suffix: str = "") -> str:
    name = vs.name or ""
    shown = sorted(_matcher(m) for m in vs.matchers
                   if not (m.name == METRIC_NAME and m.op == "=" and m.value == name))
    body = f"{name}{{{','.join(shown)}}}" if shown else name
    return body + suffix + _at_offset(vs.at, vs.offset_ms)


def _matching(op: str, return_bool: bool, vm: VectorMatching | None) -> str:
    text = op + (" bool" if return_bool else "")
    if vm is not None and (vm.labels or vm.on):
        text += f" {'on' if vm.on else 'ignoring'} ({', '.join(vm.labels)})"
        if vm.card in ("many-to-one", "one-to-many"):
            side = "left" if vm.card == "many-to-one" else "right"
            text += f" group_{side} ({', '.join(vm.include)})"
    return text


def _agg_op(e: AggregateExpr) -> str:
    if e.without:
        return f"{e.op} without ({', '.join(e.grouping)}) "
    if e.grouping:
        return f"{e.op} by ({', '.join(e.grouping)}) "
    return e.op


def _subquery_suffix(e: SubqueryExpr) -> str:
    step = go_duration(e.step_ms) if e.step_ms else ""
    return f"[{go_duration(e.range_ms)}:{step}]" + _at_offset(e.at, e.offset_ms)


def text_242(e: Expr) -> str:
    """2.42's one-line ``String()`` of a node."""
    if isinstance(e, NumberLiteral):
        return go_float(e.value)
    if isinstance(e, StringLiteral):
        return go_quote(e.value)
    if isinstance(e, VectorSelector):
        return _selector(e)
    if isinstance(e, MatrixSelector):
        return _selector(e.vector, f"[{go_duration(e.range_ms)}]")
    if isinstance(e, SubqueryExpr):
        return text_242(e.expr) + _subquery_suffix(e)
    if isinstance(e, ParenExpr):
        return f"({text_242(e.expr)})"
    if isinstance(e, UnaryExpr):
        return e.op + text_242(e.expr)
    if isinstance(e, Call):
        return f"{e.func}({', '.join(text_242(a) for a in e.args)})"
    if isinstance(e, AggregateExpr):
        param = f"{text_242(e.param)}, " if e.param is not None and e.op in AGGREGATORS_WITH_PARAM else ""
        return f"{_agg_op(e)}({param}{text_242(e.expr)})"
    return f"{text_242(e.lhs)} {_matching(e.op, e.return_bool, e.matching)} {text_242(e.rhs)}"


def pretty(e: Expr, level: int = 0) -> str:
    """2.42's ``Pretty(level)``: one line when it fits in :data:`MAX_LINE`, else split."""
    pad = _INDENT * level
    one_line = text_242(e)
    if isinstance(e, UnaryExpr):
        return pad + e.op + pretty(e.expr, level).strip()
    if len(one_line) <= MAX_LINE or isinstance(
            e, NumberLiteral | StringLiteral | VectorSelector | MatrixSelector):
        return pad + one_line
    if isinstance(e, SubqueryExpr):
        return pretty(e.expr, level) + _subquery_suffix(e)
    if isinstance(e, ParenExpr):
        return f"{pad}(\n{pretty(e.expr, level + 1)}\n{pad})"
    if isinstance(e, Call):
        args = ",\n".join(pretty(a, level + 1) for a in e.args)
        return f"{pad}{e.func}(\n{args}\n{pad})"
    if isinstance(e, AggregateExpr):
        param = f"{pretty(e.param, level + 1)},\n" if e.param is not None and e.op in AGGREGATORS_WITH_PARAM else ""
        return f"{pad}{_agg_op(e)}(\n{param}{pretty(e.expr, level + 1)}\n{pad})"
    assert isinstance(e, BinaryExpr)
    return (f"{pretty(e.lhs, level + 1)}\n{pad}{_matching(e.op, e.return_bool, e.matching)}\n"
            f"{pretty(e.rhs, level + 1)}")
