"""Experimental duration expressions: arithmetic where PromQL expects a duration.

Prometheus (``--enable-feature=promql-duration-expr``) accepts ``x[5m + 30s]``,
``x[1h:2 * 10s]``, ``x offset (100 + 2)``, ``x offset -step()`` and
``min``/``max`` of durations. Numbers are seconds. Inside brackets a whole
expression is read; after ``offset`` only one term (a literal with an optional
sign, a parenthesised expression, ``step()``, ``min(...)`` or ``max(...)``), so
``x offset 100 + 2`` still adds 2 to the selected values.

Constant expressions are folded into milliseconds by the parser; those using
``step()`` stay as :class:`~ast.DurationExpr` until :func:`resolve_durations`
is given the query step.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NoReturn, Protocol

from metricslib.collector.promql.parser.ast import (
    AggregateExpr,
    BinaryExpr,
    Call,
    DurationExpr,
    Expr,
    MatrixSelector,
    ParenExpr,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
    left_spine,
)
from metricslib.collector.promql.parser.lexer import Token, check_duration_range, parse_duration_ms

__all__ = ["evaluate", "go_round", "needs_step", "parse_duration_term", "parse_full_duration", "resolve_durations", "to_ms"]

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2, "^": 3}
_CONTEXT = "duration expression"


class TokenSource(Protocol):
    def peek(self, ahead: int = 0) -> Token: ...

    def advance(self) -> Token: ...

    def is_op(self, text: str, ahead: int = 0) -> bool: ...

    def expect_op(self, text: str, context: str) -> Token: ...

    def unexpected(self, tok: Token, context: str = "", expected: str = "") -> NoReturn: ...

    def number_value(self, tok: Token) -> float: ...

    def error(self, pos: int, message: str) -> NoReturn: ...


def parse_full_duration(p: TokenSource, context: str = _CONTEXT) -> DurationExpr:
    """A whole duration expression, as inside ``[...]``; ``context`` names it in errors."""
    return _binary(p, 1, context)


def parse_duration_term(p: TokenSource, context: str = _CONTEXT) -> DurationExpr:
    """One signed term, as after ``offset``."""
    tok = p.peek()
    if tok.kind == "OP" and tok.text in ("+", "-"):
        p.advance()
        term = _atom(p, context)
        return term if tok.text == "+" else _negate(term)
    return _atom(p, context)


def _negate(e: DurationExpr) -> DurationExpr:
    if e.op == "number":
        return DurationExpr("number", seconds=-e.seconds)
    return DurationExpr("neg", (e,))


def _binary(p: TokenSource, min_prec: int, context: str = _CONTEXT) -> DurationExpr:
    lhs = _unary(p, context)
    while True:
        tok = p.peek()
        prec = _PRECEDENCE.get(tok.text, 0) if tok.kind == "OP" else 0
        if prec == 0 or prec < min_prec:
            return lhs
        p.advance()
        # "^" is right-associative, like PromQL's.
        rhs = _binary(p, prec if tok.text == "^" else prec + 1)
        lhs = DurationExpr(tok.text, (lhs, rhs))


def _unary(p: TokenSource, context: str) -> DurationExpr:
    tok = p.peek()
    if tok.kind == "OP" and tok.text in ("+", "-"):
        p.advance()
        operand = _binary(p, _PRECEDENCE["^"], context)
        return operand if tok.text == "+" else _negate(operand)
    return _atom(p, context)


def _atom(p: TokenSource, context: str = _CONTEXT) -> DurationExpr:
    tok = p.advance()
    if tok.kind == "NUMBER":
        return DurationExpr("number", seconds=p.number_value(tok))
    if tok.kind == "DURATION":
        try:
            return DurationExpr("number", seconds=parse_duration_ms(tok.text) / 1000.0)
        except ValueError as exc:
            p.error(tok.pos, str(exc))
    if tok.kind == "OP" and tok.text == "(":
        inner = _binary(p, 1)
        p.expect_op(")", _CONTEXT)
        return inner
    if tok.kind == "IDENT" and tok.text.lower() == "step" and p.is_op("("):
        p.advance()
        p.expect_op(")", _CONTEXT)
        return DurationExpr("step")
    if tok.kind == "IDENT" and tok.text.lower() in ("min", "max") and p.is_op("("):
        p.advance()
        first = _binary(p, 1)
        p.expect_op(",", _CONTEXT)
        second = _binary(p, 1)
        p.expect_op(")", _CONTEXT)
        return DurationExpr(tok.text.lower(), (first, second))
    p.unexpected(tok, context, "duration")


def needs_step(e: DurationExpr) -> bool:
    return e.op == "step" or any(needs_step(a) for a in e.args)


def evaluate(e: DurationExpr, step_s: float = 0.0) -> float:
    """The expression's value in seconds."""
    op = e.op
    if op == "number":
        return e.seconds
    if op == "step":
        return step_s
    values = [evaluate(a, step_s) for a in e.args]
    if op == "neg":
        return -values[0]
    if op == "min":
        return min(values)
    if op == "max":
        return max(values)
    a, b = values
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if b else math.copysign(math.inf, a) if a else math.nan
    if op == "%":
        return math.fmod(a, b) if b else math.nan  # Go's math.Mod keeps the dividend's sign
    return math.pow(a, b)


def to_ms(seconds: float) -> int:
    """Milliseconds, or ValueError when the value is not a finite duration."""
    if not math.isfinite(seconds):
        raise ValueError(f"duration expression evaluates to {seconds}")
    return check_duration_range(go_round(seconds * 1000))


def go_round(x: float) -> int:
    """Go's math.Round: halves go away from zero (Python's round() goes to even)."""
    whole = math.trunc(x)
    if abs(x - whole) >= 0.5:
        whole += 1 if x > 0 else -1
    return int(whole)


def resolve_durations(expr: Expr, step_ms: int) -> Expr:
    """``expr`` with every step-dependent duration computed for ``step_ms``."""
    step_s = step_ms / 1000.0

    def ms(e: DurationExpr) -> int:
        return to_ms(evaluate(e, step_s))

    if isinstance(expr, VectorSelector):
        if expr.offset_expr is None:
            return expr
        return replace(expr, offset_ms=ms(expr.offset_expr), offset_expr=None)
    if isinstance(expr, MatrixSelector):
        vector = resolve_durations(expr.vector, step_ms)
        assert isinstance(vector, VectorSelector)
        range_ms = expr.range_ms if expr.range_expr is None else ms(expr.range_expr)
        return replace(expr, vector=vector, range_ms=range_ms, range_expr=None)
    if isinstance(expr, SubqueryExpr):
        return replace(
            expr,
            expr=resolve_durations(expr.expr, step_ms),
            range_ms=expr.range_ms if expr.range_expr is None else ms(expr.range_expr),
            step_ms=expr.step_ms if expr.step_expr is None else ms(expr.step_expr),
            offset_ms=expr.offset_ms if expr.offset_expr is None else ms(expr.offset_expr),
            range_expr=None,
            step_expr=None,
            offset_expr=None,
        )
    if isinstance(expr, ParenExpr | UnaryExpr):
        return replace(expr, expr=resolve_durations(expr.expr, step_ms))
    if isinstance(expr, Call):
        return replace(expr, args=tuple(resolve_durations(a, step_ms) for a in expr.args))
    if isinstance(expr, AggregateExpr):
        param = None if expr.param is None else resolve_durations(expr.param, step_ms)
        return replace(expr, expr=resolve_durations(expr.expr, step_ms), param=param)
    if isinstance(expr, BinaryExpr):
        # Left-deep chains are rebuilt bottom-up in a loop, not recursively.
        spine = left_spine(expr)
        lhs = resolve_durations(spine[-1].lhs, step_ms)
        for node in reversed(spine):
            lhs = replace(node, lhs=lhs, rhs=resolve_durations(node.rhs, step_ms))
        return lhs
    return expr
