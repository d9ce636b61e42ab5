"""PromQL syntax tree back to query text, in Prometheus's canonical spelling.

``parse_expr(format_expr(e))`` gives back ``e`` (up to ``pos``): parentheses
are added where the tree's shape needs them even if it holds no
:class:`ParenExpr`, and names that the parser would read as keywords or
numbers are written in their quoted form.
"""

from __future__ import annotations

import math
import re

from metricslib.collector.model import METRIC_NAME, Matcher
from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.parser.ast import (
    BINARY_PRECEDENCE,
    AggregateExpr,
    AtModifier,
    BinaryExpr,
    Call,
    DurationExpr,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorMatching,
    VectorSelector,
    left_spine,
)
from metricslib.collector.promql.parser.functions import AGGREGATORS

__all__ = ["format_duration", "format_duration_expr", "format_expr", "format_number"]

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Words the parser treats specially where a metric name could stand.
_RESERVED = frozenset(
    {"inf", "nan", "bool", "on", "ignoring", "group_left", "group_right", "offset", "and", "or",
     "unless", "atan2", "by", "without", "start", "end", "anchored", "smoothed"}
) | AGGREGATORS  # fmt: skip
_UNITS = (("y", 31_536_000_000), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000),
          ("m", 60_000), ("s", 1000), ("ms", 1))  # fmt: skip


def format_duration(ms: int) -> str:
    """Milliseconds as a Prometheus duration: 5_400_000 -> ``1h30m``, 0 -> ``0s``."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    parts = []
    for unit, size in _UNITS:
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(parts)


def format_number(value: float) -> str:
    """Shortest text that reads back as the same float (``1e+06`` style left to repr)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _label_name(name: str) -> str:
    return name if _LABEL_NAME_RE.fullmatch(name) else go_quote(name)


def _matcher(m: Matcher) -> str:
    return f"{_label_name(m.name)}{m.op}{go_quote(m.value)}"


def _at(at: AtModifier) -> str:
    if at is None:
        return ""
    if isinstance(at, str):
        return f" @ {at}()"
    return f" @ {at / 1000:.3f}"


def _extended(vs: VectorSelector) -> str:
    return " anchored" if vs.anchored else " smoothed" if vs.smoothed else ""


def _offset(ms: int, expr: DurationExpr | None = None) -> str:
    if expr is not None:
        return f" offset {_duration_term(expr)}"
    return f" offset {format_duration(ms)}" if ms else ""


def _duration(ms: int, expr: DurationExpr | None) -> str:
    return format_duration(ms) if expr is None else format_duration_expr(expr)


def _duration_term(expr: DurationExpr) -> str:
    text = format_duration_expr(expr)
    atomic = expr.op in ("step", "min", "max") or (expr.op == "number" and not text.startswith("-"))
    return text if atomic else f"({text})"


def format_duration_expr(expr: DurationExpr) -> str:
    """A duration expression; operands are parenthesised, so the text reads back the same."""
    if expr.op == "number":
        return format_number(expr.seconds)
    if expr.op == "step":
        return "step()"
    if expr.op in ("min", "max"):
        return f"{expr.op}({', '.join(format_duration_expr(a) for a in expr.args)})"
    if expr.op == "neg":
        return f"-{_duration_term(expr.args[0])}"
    lhs, rhs = (_duration_term(a) for a in expr.args)
    return f"{lhs} {expr.op} {rhs}"


def _selector(vs: VectorSelector) -> str:
    matchers = [m for m in vs.matchers if not (vs.name is not None and m.name == METRIC_NAME
                                               and m.op == "=" and m.value == vs.name)]  # fmt: skip
    inner = [_matcher(m) for m in matchers]
    name = vs.name
    if name is not None and (not _METRIC_NAME_RE.fullmatch(name) or name.lower() in _RESERVED):
        inner.insert(0, go_quote(name))
        name = None
    body = f"{{{', '.join(inner)}}}" if inner or name is None else ""
    return f"{name or ''}{body}"


def _grouping(labels: tuple[str, ...]) -> str:
    return "(" + ", ".join(_label_name(label) for label in labels) + ")"


def _matching(m: VectorMatching | None) -> str:
    if m is None:
        return ""
    text = ""
    if m.on or m.labels:
        text += f" {'on' if m.on else 'ignoring'} {_grouping(m.labels)}"
    if m.card in ("many-to-one", "one-to-many"):
        if not text:
            text = " ignoring ()"
        side = "group_left" if m.card == "many-to-one" else "group_right"
        text += f" {side}" + (f" {_grouping(m.include)}" if m.include else "")
    return text


def _needs_parens(expr: BinaryExpr, parent_prec: int, right_side: bool, parent_op: str) -> bool:
    prec = BINARY_PRECEDENCE[expr.op]
    return prec < parent_prec or (prec == parent_prec and (right_side != (parent_op == "^")))


def _operand(expr: Expr, parent_prec: int, right_side: bool, parent_op: str) -> str:
    text = format_expr(expr)
    if isinstance(expr, BinaryExpr):
        return f"({text})" if _needs_parens(expr, parent_prec, right_side, parent_op) else text
    if parent_op == "^" and not right_side and (
        isinstance(expr, UnaryExpr) or (isinstance(expr, NumberLiteral) and _signed(expr.value))
    ):
        return f"({text})"
    return text


def _signed(value: float) -> bool:
    return math.copysign(1.0, value) < 0 or (math.isinf(value) and value > 0)


def format_expr(expr: Expr) -> str:
    """The query text for ``expr``."""
    if isinstance(expr, NumberLiteral):
        return format_number(expr.value)
    if isinstance(expr, StringLiteral):
        return go_quote(expr.value)
    if isinstance(expr, VectorSelector):
        return _selector(expr) + _extended(expr) + _at(expr.at) + _offset(expr.offset_ms, expr.offset_expr)
    if isinstance(expr, MatrixSelector):
        vs = expr.vector
        rng = _duration(expr.range_ms, expr.range_expr)
        return f"{_selector(vs)}[{rng}]{_extended(vs)}{_at(vs.at)}{_offset(vs.offset_ms, vs.offset_expr)}"
    if isinstance(expr, SubqueryExpr):
        inner = format_expr(expr.expr)
        if isinstance(expr.expr, BinaryExpr | UnaryExpr | NumberLiteral) or (
            isinstance(expr.expr, VectorSelector)
            and (expr.expr.offset_ms or expr.expr.offset_expr is not None or expr.expr.at is not None)
        ):
            inner = f"({inner})"
        step = _duration(expr.step_ms, expr.step_expr) if expr.step_ms or expr.step_expr else ""
        rng = _duration(expr.range_ms, expr.range_expr)
        return f"{inner}[{rng}:{step}]{_at(expr.at)}{_offset(expr.offset_ms, expr.offset_expr)}"
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(format_expr(a) for a in expr.args)})"
    if isinstance(expr, AggregateExpr):
        args = ([format_expr(expr.param)] if expr.param is not None else []) + [format_expr(expr.expr)]
        grouping = ""
        if expr.without or expr.grouping:
            grouping = f" {'without' if expr.without else 'by'} {_grouping(expr.grouping)} "
        return f"{expr.op}{grouping}({', '.join(args)})"
    if isinstance(expr, BinaryExpr):
        return _binary(expr)
    if isinstance(expr, UnaryExpr):
        inner = format_expr(expr.expr)
        if (isinstance(expr.expr, BinaryExpr) and BINARY_PRECEDENCE[expr.expr.op] < BINARY_PRECEDENCE["^"]) or isinstance(expr.expr, UnaryExpr | NumberLiteral):
            inner = f"({inner})"
        return f"{expr.op}{inner}"
    if isinstance(expr, ParenExpr):
        return f"({format_expr(expr.expr)})"
    raise TypeError(f"not a PromQL expression: {expr!r}")


def _binary(top: BinaryExpr) -> str:
    # Left-deep chains (a or b or ...) are printed bottom-up in a loop, not recursively.
    spine = left_spine(top)
    bottom = spine[-1]
    text = _operand(bottom.lhs, BINARY_PRECEDENCE[bottom.op], False, bottom.op)
    below: BinaryExpr | None = None
    for expr in reversed(spine):
        prec = BINARY_PRECEDENCE[expr.op]
        if below is not None and _needs_parens(below, prec, False, expr.op):
            text = f"({text})"
        rhs = _operand(expr.rhs, prec, True, expr.op)
        modifier = " bool" if expr.return_bool else ""
        matching = _matching(expr.matching)
        if matching.endswith(("group_left", "group_right")) and rhs.startswith("("):
            # Otherwise "group_left (rhs...)" would read the right side as its label list.
            matching += " ()"
        text = f"{text} {expr.op}{modifier}{matching} {rhs}"
        below = expr
    return text
