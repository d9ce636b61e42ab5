"""PromQL parser: text to the syntax tree in :mod:`ast`, type-checked.

Recursive descent with precedence climbing. Prometheus's precedence, lowest
first: ``or``; ``and unless``; comparisons; ``+ -``; ``* / % atan2``; ``^``
(right-associative). Unary ``+``/``-`` sits between ``*`` and ``^``, so
``-2 ^ 2`` is ``-(2 ^ 2)``. ``offset``, ``@`` and ``[...]`` bind tightest.

This module holds expressions, calls and aggregations; selectors and their
modifiers are in :mod:`selectors`, the token cursor in :mod:`tokens`, type
checks in :mod:`checker` and duration expressions in :mod:`duration_expr`.

Every error is a :class:`PromQLParseError` whose message reads like
Prometheus's (``1:14: parse error: ...``) and whose ``position`` is the 0-based
offset of the offending token or node.
"""

from __future__ import annotations

import math

from metricslib.collector.promql.parser.ast import (
    BINARY_PRECEDENCE,
    AggregateExpr,
    BinaryExpr,
    Call,
    Expr,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorMatching,
    VectorSelector,
)
from metricslib.collector.promql.parser.checker import Checker, type_of
from metricslib.collector.promql.parser.duration_expr import (
    resolve_durations,
)
from metricslib.collector.promql.parser.functions import (
    AGGREGATORS,
    AGGREGATORS_WITH_PARAM,
    EXPERIMENTAL_AGGREGATORS,
    FUNCTIONS,
)
from metricslib.collector.promql.parser.lexer import (
    format_error,
    parse_duration_ms,
    unquote,
)
from metricslib.collector.promql.parser.selectors import SelectorParser
from metricslib.errors import PromQLParseError

__all__ = ["BINARY_PRECEDENCE", "MAX_DEPTH", "parse_expr", "parse_matchers", "resolve_durations", "type_of"]

_POW_PRECEDENCE = BINARY_PRECEDENCE["^"]
_KEYWORD_OPS = frozenset({"and", "or", "unless", "atan2"})
# Keywords that can never stand where an expression starts ...
_NOT_NAMES = frozenset({"bool", "on", "ignoring", "group_left", "group_right", "atan2"})
# ... and keywords that can, but only as metric names (never as a function's name).
_KEYWORD_NAMES = frozenset(
    {"offset", "by", "without", "start", "end", "step", "anchored", "smoothed", "and", "or", "unless"}
)


def parse_expr(query: str, *, enable_experimental: bool = True, extended_range_selectors: bool = False) -> Expr:
    """Parse and type-check a PromQL expression.

    ``enable_experimental`` admits the functions and aggregations Prometheus
    gates behind ``--enable-feature=promql-experimental-functions`` and the
    duration expressions of ``promql-duration-expr``;
    ``extended_range_selectors`` admits the ``anchored``/``smoothed`` modifiers
    of ``promql-extended-range-selectors`` (off unless the engine implements them).
    """
    parser = _Parser(query, enable_experimental, extended_range_selectors)
    if parser.peek().kind == "EOF":
        raise PromQLParseError(format_error(query, 0, "no expression found in input"), 0)
    try:
        expr = parser.parse_expression(0)
        tok = parser.peek()
        if tok.kind != "EOF":
            parser.unexpected(tok)
        _check_depth(query, expr)
        Checker(query, parser.op_positions or {}).check(expr)
    except RecursionError:
        # Only reachable for absurd nesting; report it instead of crashing.
        raise PromQLParseError(format_error(query, 0, _TOO_DEEP), 0) from None
    return expr


#: Deeper trees are refused: every later stage (checks, engine, printer) recurses.
MAX_DEPTH = 200
_TOO_DEEP = f"expression is nested too deeply (more than {MAX_DEPTH} levels)"


def _check_depth(query: str, expr: Expr) -> None:
    """Refuse real nesting (parentheses, calls, aggregations) deeper than MAX_DEPTH.

    A binary expression as the left operand of another does not count: a flat
    chain such as ``a or b or ... or z`` is written without nesting, and
    Prometheus accepts thousands of terms (the later stages walk such chains
    without recursing per term; see ``ast.left_spine``). Right-nested chains
    (``a ^ b ^ ...``) still count."""
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PromQLParseError(format_error(query, node.pos, _TOO_DEEP), node.pos)
        for child in _children(node):
            flat = isinstance(node, BinaryExpr) and child is node.lhs and isinstance(child, BinaryExpr)
            stack.append((child, depth if flat else depth + 1))


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, BinaryExpr):
        return (node.lhs, node.rhs)
    if isinstance(node, ParenExpr | UnaryExpr | SubqueryExpr):
        return (node.expr,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, AggregateExpr):
        return (node.expr,) if node.param is None else (node.param, node.expr)
    return ()


def parse_matchers(query: str) -> VectorSelector:
    """Parse a series selector as ``match[]`` takes it (``up{job="x"}``), like Prometheus's
    ParseMetricSelector: nothing but a name and/or braces, and no check that some
    matcher is non-empty (the HTTP API words that check itself)."""
    parser = _Parser(query, True)
    tok = parser.peek()
    name: str | None = None
    if tok.kind == "IDENT" and tok.text.lower() not in _NOT_NAMES | {"inf", "nan"}:
        name = parser.advance().text
    elif not parser.is_op("{"):
        parser.unexpected(tok)
    selector = parser.parse_selector(name, tok.pos)
    if parser.peek().kind != "EOF":
        parser.unexpected(parser.peek())
    return selector


class _Parser(SelectorParser):
    __slots__ = ()

    # --- expressions ------------------------------------------------------------------------

    def binary_op_at_cursor(self) -> str | None:
        tok = self.peek()
        if tok.kind == "OP" and tok.text in BINARY_PRECEDENCE:
            return tok.text
        if tok.kind == "IDENT" and tok.text.lower() in _KEYWORD_OPS:
            return tok.text.lower()
        return None

    def parse_expression(self, min_prec: int) -> Expr:
        lhs = self.parse_unary()
        while True:
            op = self.binary_op_at_cursor()
            if op is None:
                return lhs
            prec = BINARY_PRECEDENCE[op]
            if prec < min_prec:
                return lhs
            op_tok = self.advance()
            return_bool, matching = self.parse_binary_modifiers()
            # "^" is right-associative: its right side may hold another "^".
            rhs = self.parse_expression(prec if op == "^" else prec + 1)
            lhs = BinaryExpr(op, lhs, rhs, matching, return_bool, pos=lhs.pos)
            assert self.op_positions is not None
            self.op_positions[id(lhs)] = op_tok.pos

    def parse_binary_modifiers(self) -> tuple[bool, VectorMatching | None]:
        return_bool = False
        if self.is_keyword("bool"):
            self.advance()
            return_bool = True
        if not (self.is_keyword("on") or self.is_keyword("ignoring")):
            if self.is_keyword("group_left") or self.is_keyword("group_right"):
                self.unexpected(self.peek())
            return return_bool, None
        on = self.advance().text.lower() == "on"
        labels = self.parse_grouping_labels()
        card: str = "one-to-one"
        include: tuple[str, ...] = ()
        if self.is_keyword("group_left") or self.is_keyword("group_right"):
            side = self.advance().text.lower()
            card = "many-to-one" if side == "group_left" else "one-to-many"
            if self.is_op("("):
                include = self.parse_grouping_labels()
        return return_bool, VectorMatching(card, on, labels, include)  # type: ignore[arg-type]

    def parse_unary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "OP" and tok.text in ("+", "-"):
            self.advance()
            operand = self.parse_expression(_POW_PRECEDENCE)
            if isinstance(operand, NumberLiteral):
                # Prometheus folds a sign into a number literal right away.
                value = -operand.value if tok.text == "-" else operand.value
                return NumberLiteral(value, pos=tok.pos)
            return UnaryExpr(tok.text, operand, pos=tok.pos)  # type: ignore[arg-type]
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, expr: Expr) -> Expr:
        while True:
            if self.is_op("["):
                expr = self.parse_range_suffix(expr)
            elif self.is_keyword("offset"):
                expr = self.parse_offset(expr)
            elif self.is_op("@"):
                expr = self.parse_at(expr)
            elif self.extended_range_selectors and (self.is_keyword("anchored") or self.is_keyword("smoothed")):
                expr = self.parse_extended_modifier(expr)
            else:
                return expr

    def parse_primary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "NUMBER":
            self.advance()
            return NumberLiteral(self.number_value(tok), pos=tok.pos)
        if tok.kind == "DURATION":
            self.advance()
            try:
                return NumberLiteral(parse_duration_ms(tok.text) / 1000.0, pos=tok.pos)
            except ValueError as exc:
                self.error(tok.pos, str(exc))
        if tok.kind == "STRING":
            self.advance()
            return StringLiteral(unquote(tok.text, self.query, tok.pos), pos=tok.pos)
        if self.is_op("("):
            self.advance()
            inner = self.parse_expression(0)
            if not self.is_op(")"):
                self.unexpected(self.peek())
            self.advance()
            return ParenExpr(inner, pos=tok.pos)
        if self.is_op("{"):
            return self.parse_selector(None, tok.pos)
        if tok.kind == "IDENT":
            word = tok.text.lower()
            if word in ("inf", "nan"):
                self.advance()
                return NumberLiteral(math.inf if word == "inf" else math.nan, pos=tok.pos)
            if word in AGGREGATORS and (
                self.is_op("(", 1) or self.is_keyword("by", 1) or self.is_keyword("without", 1)
            ):
                return self.parse_aggregate()
            if word in _NOT_NAMES:
                self.unexpected(tok)
            if self.is_op("(", 1) and word not in _KEYWORD_NAMES:
                return self.parse_call()
            self.advance()
            return self.parse_selector(tok.text, tok.pos)
        if tok.kind == "EOF":
            self.error(tok.pos, "unexpected end of input")
        self.unexpected(tok)

    # --- calls and aggregations --------------------------------------------------------------

    def parse_call(self) -> Call:
        name_tok = self.advance()
        name = name_tok.text
        signature = FUNCTIONS.get(name)
        if signature is None:
            self.error(name_tok.pos, f'unknown function with name "{name}"')
        if signature.experimental and not self.enable_experimental:
            self.error(name_tok.pos, f'function "{name}" is not enabled')
        args = self.parse_call_args("function call")
        return Call(name, tuple(args), pos=name_tok.pos)

    def parse_call_args(self, context: str) -> list[Expr]:
        if not self.is_op("("):
            # Prometheus names no expected token here.
            self.unexpected(self.peek(), context)
        self.advance()
        args: list[Expr] = []
        while not self.is_op(")"):
            args.append(self.parse_expression(0))
            if self.is_op(","):
                comma = self.advance()
                if self.is_op(")"):
                    self.error(comma.pos, "trailing commas not allowed in function call args")
            elif not self.is_op(")"):
                self.unexpected(self.peek(), context, '"," or ")"')
        self.advance()
        return args

    def parse_grouping_labels(self) -> tuple[str, ...]:
        self.expect_op("(", "grouping opts")
        labels: list[str] = []
        while not self.is_op(")"):
            tok = self.advance()
            if tok.kind == "IDENT" and ":" not in tok.text:
                labels.append(tok.text)
            elif tok.kind == "STRING":
                labels.append(unquote(tok.text, self.query, tok.pos))
            else:
                self.unexpected(tok, "grouping opts", "label")
            if self.is_op(","):
                self.advance()
            elif not self.is_op(")"):
                self.unexpected(self.peek(), "grouping opts", '"," or ")"')
        self.advance()
        return tuple(labels)

    def parse_aggregate(self) -> AggregateExpr:
        op_tok = self.advance()
        op = op_tok.text.lower()
        if op in EXPERIMENTAL_AGGREGATORS and not self.enable_experimental:
            self.error(
                op_tok.pos,
                "limitk() and limit_ratio() are experimental and must be enabled with "
                "--enable-feature=promql-experimental-functions",
            )
        grouping: tuple[str, ...] = ()
        without = False
        seen_modifier = False
        if self.is_keyword("by") or self.is_keyword("without"):
            without = self.advance().text.lower() == "without"
            grouping = self.parse_grouping_labels()
            seen_modifier = True
        args = self.parse_call_args("aggregation")
        if not seen_modifier and (self.is_keyword("by") or self.is_keyword("without")):
            without = self.advance().text.lower() == "without"
            grouping = self.parse_grouping_labels()
        if not args:
            self.error(op_tok.pos, "no arguments for aggregate expression provided")
        wanted = 2 if op in AGGREGATORS_WITH_PARAM else 1
        if len(args) != wanted:
            self.error(
                op_tok.pos,
                f"wrong number of arguments for aggregate expression provided, expected {wanted}, got {len(args)}",
            )
        param = args[0] if wanted == 2 else None
        return AggregateExpr(op, args[-1], param, grouping, without, pos=op_tok.pos)
