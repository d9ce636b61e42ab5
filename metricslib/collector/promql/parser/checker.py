"""Type checks on a parsed PromQL tree, with Prometheus's messages (its ``checkAST``).

Run by :func:`parser.parse_expr` after the syntax is read. Besides checking,
it normalises binary expressions: vector-vector operations always carry a
:class:`VectorMatching` (set operators many-to-many), scalar ones none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from metricslib.collector.promql.parser.ast import (
    COMPARISON_OPS,
    SET_OPS,
    AggregateExpr,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    ParenExpr,
    SubqueryExpr,
    UnaryExpr,
    ValueType,
    VectorMatching,
    VectorSelector,
    left_spine,
    value_type,
)
from metricslib.collector.promql.parser.functions import FUNCTIONS, RETURN_TYPES, documented_type
from metricslib.collector.promql.parser.lexer import format_error
from metricslib.errors import PromQLParseError

__all__ = ["Checker", "type_of"]


def type_of(expr: Expr) -> ValueType:
    """The value type of a parsed expression."""
    return value_type(expr, RETURN_TYPES)


def _start(expr: Expr) -> int:
    return expr.pos


@dataclass(slots=True)
class Checker:
    query: str
    #: Where each binary operator was written (by id of its node), for errors about it.
    op_positions: dict[int, int] = field(default_factory=dict)

    def error(self, pos: int, message: str) -> NoReturn:
        raise PromQLParseError(format_error(self.query, pos, message), pos)

    def expect_type(self, expr: Expr, want: ValueType, context: str) -> None:
        got = type_of(expr)
        if got != want:
            self.error(
                _start(expr),
                f"expected type {documented_type(want)} in {context}, got {documented_type(got)}",
            )

    def check(self, expr: Expr) -> None:
        """Prometheus's checkAST: types of arguments, operands and modifiers."""
        if isinstance(expr, ParenExpr):
            self.check(expr.expr)
        elif isinstance(expr, UnaryExpr):
            self.check(expr.expr)
            t = type_of(expr.expr)
            if t not in ("scalar", "vector"):
                self.error(
                    expr.pos,
                    f'unary expression only allowed on expressions of type scalar or instant vector, got "{documented_type(t)}"',
                )
        elif isinstance(expr, VectorSelector):
            if expr.name is None and not any(not m.matches_empty() for m in expr.matchers):
                self.error(expr.pos, "vector selector must contain at least one non-empty matcher")
        elif isinstance(expr, MatrixSelector):
            self.check(expr.vector)
        elif isinstance(expr, SubqueryExpr):
            self.check(expr.expr)
            t = type_of(expr.expr)
            if t != "vector":
                # Prometheus names the raw type here ("matrix"), unlike its other messages.
                self.error(expr.pos, f"subquery is only allowed on instant vector, got {t} instead")
        elif isinstance(expr, Call):
            self.check_call(expr)
        elif isinstance(expr, AggregateExpr):
            self.check(expr.expr)
            self.expect_type(expr.expr, "vector", "aggregation expression")
            if expr.param is not None:
                self.check(expr.param)
                want: ValueType = "string" if expr.op == "count_values" else "scalar"
                self.expect_type(expr.param, want, "aggregation parameter")
        elif isinstance(expr, BinaryExpr):
            self.check_binary(expr)

    def check_call(self, call: Call) -> None:
        sig = FUNCTIONS[call.func]
        n = len(call.args)
        if sig.variadic == 0:
            if n != len(sig.arg_types):
                self.error(
                    call.pos,
                    f'expected {len(sig.arg_types)} argument(s) in call to "{call.func}", got {n}',
                )
        else:
            if n < sig.min_args:
                self.error(
                    call.pos,
                    f'expected at least {sig.min_args} argument(s) in call to "{call.func}", got {n}',
                )
            if sig.max_args is not None and n > sig.max_args:
                self.error(
                    call.pos,
                    f'expected at most {sig.max_args} argument(s) in call to "{call.func}", got {n}',
                )
        for i, arg in enumerate(call.args):
            self.check(arg)
            self.expect_type(arg, sig.arg_type(i), f'call to function "{call.func}"')

    def check_binary(self, top: BinaryExpr) -> None:
        # A left-deep chain (a or b or ...) is checked bottom-up in a loop, each
        # node's type from its operands', so long chains cost neither recursion
        # nor quadratic time.
        spine = left_spine(top)
        self.check(spine[-1].lhs)
        lt = type_of(spine[-1].lhs)
        for expr in reversed(spine):
            self.check(expr.rhs)
            rt = type_of(expr.rhs)
            self._check_binary_node(expr, lt, rt)
            lt = "scalar" if lt == "scalar" and rt == "scalar" else "vector"

    def _check_binary_node(self, expr: BinaryExpr, lt: ValueType, rt: ValueType) -> None:
        op_pos = self.op_positions.get(id(expr), expr.pos)
        if expr.return_bool and expr.op not in COMPARISON_OPS:
            self.error(op_pos, "bool modifier can only be used on comparison operators")
        if expr.op in COMPARISON_OPS and not expr.return_bool and lt == "scalar" and rt == "scalar":
            self.error(op_pos, "comparisons between scalars must use BOOL modifier")
        matching = expr.matching
        if matching is not None and matching.on:
            for label in matching.include:
                if label in matching.labels:
                    self.error(op_pos, f'label "{label}" must not occur in ON and GROUP clause at once')
        if lt not in ("scalar", "vector"):
            self.error(_start(expr.lhs), "binary expression must contain only scalar and instant vector types")
        if rt not in ("scalar", "vector"):
            self.error(_start(expr.rhs), "binary expression must contain only scalar and instant vector types")
        if (lt != "vector" or rt != "vector") and matching is not None and matching.labels:
            self.error(expr.pos, "vector matching only allowed between instant vectors")
        if (
            lt == "vector"
            and rt == "vector"
            and expr.op in SET_OPS
            and matching is not None
            and matching.card in ("one-to-many", "many-to-one")
        ):
            self.error(expr.pos, f'no grouping allowed for "{expr.op}" operation')
        if (lt == "scalar" or rt == "scalar") and expr.op in SET_OPS:
            self.error(expr.pos, f'set operator "{expr.op}" not allowed in binary scalar expression')
        self._finish_matching(expr, lt, rt)

    def _finish_matching(self, expr: BinaryExpr, lt: ValueType, rt: ValueType) -> None:
        # Normalise in place (the tree is fresh and private to this parse): vector-vector
        # operations always carry a matching, set operations are many-to-many, and
        # operations involving a scalar carry none.
        if lt == "vector" and rt == "vector":
            matching = expr.matching or VectorMatching()
            if expr.op in SET_OPS:
                matching = VectorMatching("many-to-many", matching.on, matching.labels, matching.include)
            object.__setattr__(expr, "matching", matching)
        else:
            object.__setattr__(expr, "matching", None)
