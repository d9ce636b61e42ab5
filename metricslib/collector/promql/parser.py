"""PromQL parser: text to the syntax tree in :mod:`ast`, type-checked.

Recursive descent with precedence climbing. Prometheus's precedence, lowest
first: ``or``; ``and unless``; comparisons; ``+ -``; ``* / % atan2``; ``^``
(right-associative). Unary ``+``/``-`` sits between ``*`` and ``^``, so
``-2 ^ 2`` is ``-(2 ^ 2)``. ``offset``, ``@`` and ``[...]`` bind tightest.

Every error is a :class:`PromQLParseError` whose message reads like
Prometheus's (``1:14: parse error: ...``) and whose ``position`` is the 0-based
offset of the offending token or node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NoReturn

from metricslib.collector.model import METRIC_NAME, Matcher, MatchOp
from metricslib.collector.promql.ast import (
    COMPARISON_OPS,
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
)
from metricslib.collector.promql.checker import Checker, type_of
from metricslib.collector.promql.duration_expr import (
    evaluate,
    needs_step,
    parse_duration_term,
    parse_full_duration,
    resolve_durations,
    to_ms,
)
from metricslib.collector.promql.functions_table import (
    AGGREGATORS,
    AGGREGATORS_WITH_PARAM,
    EXPERIMENTAL_AGGREGATORS,
    FUNCTIONS,
)
from metricslib.collector.promql.lexer import (
    Token,
    format_error,
    lex,
    parse_duration_ms,
    unquote,
)
from metricslib.collector.promql.regex import go_regex_error, make_matcher
from metricslib.errors import PromQLParseError

__all__ = ["BINARY_PRECEDENCE", "parse_expr", "parse_matchers", "resolve_durations", "type_of"]

#: Binding power of each binary operator (higher binds tighter).
BINARY_PRECEDENCE: dict[str, int] = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **{op: 3 for op in COMPARISON_OPS},
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_POW_PRECEDENCE = 6
_KEYWORD_OPS = frozenset({"and", "or", "unless", "atan2"})
_MATCH_OPS = frozenset({"=", "!=", "=~", "!~"})
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
    expr = parser.parse_expression(0)
    tok = parser.peek()
    if tok.kind != "EOF":
        parser.unexpected(tok)
    Checker(query, parser.op_positions or {}).check(expr)
    return expr


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


@dataclass(slots=True)
class _Parser:
    query: str
    enable_experimental: bool
    extended_range_selectors: bool = False
    tokens: list[Token] | None = None
    index: int = 0
    # Where each binary operator was written (by id of its node), for errors about it.
    op_positions: dict[int, int] | None = None

    def __post_init__(self) -> None:
        self.tokens = lex(self.query)
        self.op_positions = {}

    # --- token plumbing ---------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        assert self.tokens is not None
        try:
            return self.tokens[self.index + ahead]
        except IndexError:
            return self.tokens[-1]

    def advance(self) -> Token:
        tok = self.peek()
        if tok.kind != "EOF":
            self.index += 1
        return tok

    def error(self, pos: int, message: str) -> NoReturn:
        raise PromQLParseError(format_error(self.query, pos, message), pos)

    def unexpected(self, tok: Token, context: str = "", expected: str = "") -> NoReturn:
        message = f"unexpected {tok.describe()}"
        if context:
            message += f" in {context}"
        if expected:
            message += f", expected {expected}"
        self.error(tok.pos, message)

    def is_op(self, text: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "OP" and tok.text == text

    def is_keyword(self, word: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "IDENT" and tok.text.lower() == word

    def expect_op(self, text: str, context: str) -> Token:
        tok = self.peek()
        if tok.kind != "OP" or tok.text != text:
            self.unexpected(tok, context, f'"{text}"')
        return self.advance()

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
            lhs = BinaryExpr(op, lhs, rhs, matching, return_bool, pos=_start(lhs))
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

    def parse_extended_modifier(self, expr: Expr) -> Expr:
        tok = self.advance()
        word = tok.text.lower()
        vector = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(vector, VectorSelector) or (word == "anchored" and vector is expr):
            what = "a range vector selector" if word == "anchored" else "a vector selector"
            self.error(tok.pos, f"{word} modifier must be preceded by {what}")
        if vector.anchored or vector.smoothed:
            self.error(tok.pos, "anchored and smoothed modifiers may be set only once")
        vector = replace(vector, anchored=True) if word == "anchored" else replace(vector, smoothed=True)
        return replace(expr, vector=vector) if isinstance(expr, MatrixSelector) else vector

    def parse_primary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "NUMBER":
            self.advance()
            return NumberLiteral(self.number_value(tok), pos=tok.pos)
        if tok.kind == "DURATION":
            self.advance()
            return NumberLiteral(parse_duration_ms(tok.text) / 1000.0, pos=tok.pos)
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

    def number_value(self, tok: Token) -> float:
        text = tok.text
        # Go's ParseInt(s, 0, 64) reads a leading 0 as octal; Prometheus tries it first.
        if text[:2] in ("0x", "0X"):
            return float(int(text, 16))
        if len(text) > 1 and text[0] == "0" and text.isdigit():
            try:
                return float(int(text, 8))
            except ValueError:
                pass
        return float(text)

    # --- selectors and modifiers -------------------------------------------------------------

    def parse_selector(self, name: str | None, pos: int) -> VectorSelector:
        matchers = self.parse_label_matchers() if self.is_op("{") else []
        if name is not None:
            # Like Prometheus: {"a", __name__="b"} is allowed, a name outside and inside is not.
            for m in matchers:
                if m.name == METRIC_NAME:
                    self.error(pos, f'metric name must not be set twice: "{name}" or "{m.value}"')
            matchers.append(Matcher(METRIC_NAME, "=", name))
        return VectorSelector(name, tuple(matchers), pos=pos)

    def parse_label_matchers(self) -> list[Matcher]:
        self.expect_op("{", "label matching")
        matchers: list[Matcher] = []
        while not self.is_op("}"):
            tok = self.advance()
            if tok.kind == "IDENT":
                label = tok.text
            elif tok.kind == "STRING":
                label = unquote(tok.text, self.query, tok.pos)
                if self.is_op(",") or self.is_op("}"):
                    # {"metric.name"}: a bare quoted string names the metric.
                    matchers.append(Matcher(METRIC_NAME, "=", label))
                    if self.is_op(","):
                        self.advance()
                    continue
            else:
                self.unexpected(tok, "label matching", 'identifier or "}"')
            op_tok = self.advance()
            if op_tok.kind != "OP" or op_tok.text not in _MATCH_OPS:
                self.unexpected(op_tok, "label matching", "label matching operator")
            value_tok = self.advance()
            if value_tok.kind != "STRING":
                self.unexpected(value_tok, "label matching", "string")
            value = unquote(value_tok.text, self.query, value_tok.pos)
            op: MatchOp = op_tok.text  # type: ignore[assignment]
            matchers.append(self.make_matcher(label, op, value, tok.pos))
            if self.is_op(","):
                self.advance()
            elif not self.is_op("}"):
                self.unexpected(self.peek(), "label matching", '"," or "}"')
        self.advance()
        return matchers

    def make_matcher(self, label: str, op: MatchOp, value: str, pos: int) -> Matcher:
        try:
            return make_matcher(label, op, value)
        except ValueError as exc:
            self.error(pos, f"error parsing regexp: {go_regex_error(value, exc)}")

    def parse_duration(self, context: str, *, allow_sign: bool = False) -> int:
        """A duration token, or a number of seconds (Prometheus 3), as milliseconds."""
        sign = 1
        if allow_sign and self.peek().kind == "OP" and self.peek().text in ("-", "+"):
            sign = -1 if self.advance().text == "-" else 1
        tok = self.advance()
        if tok.kind == "DURATION":
            try:
                return sign * parse_duration_ms(tok.text)
            except ValueError as exc:
                self.error(tok.pos, str(exc))
        if tok.kind == "NUMBER":
            seconds = self.number_value(tok)
            if not math.isfinite(seconds):
                self.error(tok.pos, f"duration out of range: {tok.text}")
            return sign * round(seconds * 1000)
        self.unexpected(tok, context, "duration")

    def parse_duration_value(self, context: str, *, term: bool = False) -> tuple[int, DurationExpr | None]:
        """A range, step or offset: milliseconds, or a step-dependent expression.

        Duration expressions are experimental; without them only a literal
        (with a sign for offsets) is accepted, as in stock Prometheus."""
        if not self.enable_experimental:
            return self.parse_duration(context, allow_sign=term), None
        start = self.peek()
        expr = parse_duration_term(self, context) if term else parse_full_duration(self, context)
        if needs_step(expr):
            return 0, expr
        try:
            return to_ms(evaluate(expr)), None
        except ValueError as exc:
            self.error(start.pos, str(exc))

    def parse_range_suffix(self, expr: Expr) -> Expr:
        bracket = self.advance()
        range_tok = self.peek()
        range_ms, range_expr = self.parse_duration_value("range or subquery")
        if range_ms <= 0 and range_expr is None:
            self.error(range_tok.pos, "duration must be greater than 0")
        if self.is_op(":"):
            self.advance()
            step_ms, step_expr = 0, None
            if not self.is_op("]"):
                step_tok = self.peek()
                step_ms, step_expr = self.parse_duration_value("subquery")
                if step_ms <= 0 and step_expr is None:
                    self.error(step_tok.pos, "duration must be greater than 0")
            self.expect_op("]", "subquery selector")
            return SubqueryExpr(
                expr, range_ms, step_ms, pos=_start(expr), range_expr=range_expr, step_expr=step_expr
            )
        self.expect_op("]", "range selector")
        if not isinstance(expr, VectorSelector):
            self.error(bracket.pos, "ranges only allowed for vector selectors")
        if expr.offset_ms != 0 or expr.offset_expr is not None:
            self.error(bracket.pos, "no offset modifiers allowed before range")
        if expr.at is not None:
            self.error(bracket.pos, "no @ modifiers allowed before range")
        return MatrixSelector(expr, range_ms, pos=expr.pos, range_expr=range_expr)

    def parse_offset(self, expr: Expr) -> Expr:
        self.advance()
        offset, offset_expr = self.parse_duration_value("offset", term=True)
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | SubqueryExpr):
            self.error(
                _start(expr),
                "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
            )
        if target.offset_ms != 0 or target.offset_expr is not None:
            self.error(_start(expr), "offset may not be set multiple times")
        return _with_modifier(expr, offset_ms=offset, offset_expr=offset_expr)

    def parse_at(self, expr: Expr) -> Expr:
        self.advance()
        tok = self.peek()
        at: AtModifier
        if tok.kind == "IDENT" and tok.text.lower() in ("start", "end"):
            self.advance()
            self.expect_op("(", "@ modifier")
            self.expect_op(")", "@ modifier")
            at = "start" if tok.text.lower() == "start" else "end"
        else:
            sign = 1.0
            if tok.kind == "OP" and tok.text in ("-", "+"):
                sign = -1.0 if self.advance().text == "-" else 1.0
                tok = self.peek()
            self.advance()
            if tok.kind == "NUMBER":
                seconds = sign * self.number_value(tok)
            elif tok.kind == "DURATION":
                seconds = sign * parse_duration_ms(tok.text) / 1000.0
            elif tok.kind == "IDENT" and tok.text.lower() in ("inf", "nan"):
                seconds = math.nan
            else:
                self.unexpected(tok, "@ modifier", 'number or "start()" or "end()"')
            if not math.isfinite(seconds) or abs(seconds) > 9.2e15:
                shown = "NaN" if math.isnan(seconds) else ("+Inf" if seconds > 0 else "-Inf")
                if math.isfinite(seconds):
                    shown = f"{seconds:f}"
                self.error(_start(expr), f"timestamp out of bounds for @ modifier: {shown}")
            at = round(seconds * 1000)
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | SubqueryExpr):
            self.error(
                _start(expr),
                "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
            )
        if target.at is not None:
            self.error(_start(expr), "@ <timestamp> may not be set multiple times")
        return _with_modifier(expr, at=at)

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


def _start(expr: Expr) -> int:
    """Offset of an expression's first character (a binary starts at its left side)."""
    return expr.pos


def _with_modifier(
    expr: Expr, *, offset_ms: int | None = None, offset_expr: DurationExpr | None = None, at: AtModifier = None
) -> Expr:
    if isinstance(expr, MatrixSelector):
        inner = _with_modifier(expr.vector, offset_ms=offset_ms, offset_expr=offset_expr, at=at)
        return replace(expr, vector=inner)  # type: ignore[arg-type]
    assert isinstance(expr, VectorSelector | SubqueryExpr)
    if offset_ms is not None:
        return replace(expr, offset_ms=offset_ms, offset_expr=offset_expr)
    return replace(expr, at=at)
