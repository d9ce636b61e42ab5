"""Parsing selectors and what may follow them: ``{...}``, ``[range]``, ``[range:step]``,
``offset``, ``@`` and the experimental ``anchored``/``smoothed`` modifiers.
"""

from __future__ import annotations

import math
from dataclasses import replace

from metricslib.collector.model import METRIC_NAME, Matcher, MatchOp
from metricslib.collector.promql.parser.ast import (
    AtModifier,
    DurationExpr,
    Expr,
    MatrixSelector,
    SubqueryExpr,
    VectorSelector,
)
from metricslib.collector.promql.parser.duration_expr import (
    evaluate,
    go_round,
    needs_step,
    parse_duration_term,
    parse_full_duration,
    to_ms,
)
from metricslib.collector.promql.parser.lexer import MAX_DURATION_MS, parse_duration_ms, unquote
from metricslib.collector.promql.parser.tokens import TokenStream

__all__ = ["SelectorParser"]

_MATCH_OPS = frozenset({"=", "!=", "=~", "!~"})


class SelectorParser(TokenStream):
    __slots__ = ()

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
            return Matcher(label, op, value)
        except ValueError as exc:
            self.error(pos, f"error parsing regexp: {exc}")

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
            if not math.isfinite(seconds) or abs(seconds) * 1000 > MAX_DURATION_MS:
                self.error(tok.pos, f"duration out of range: {tok.text}")
            return sign * go_round(seconds * 1000)
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
                try:
                    seconds = sign * parse_duration_ms(tok.text) / 1000.0
                except ValueError as exc:
                    self.error(tok.pos, str(exc))
            elif tok.kind == "IDENT" and tok.text.lower() in ("inf", "nan"):
                seconds = math.nan
            else:
                self.unexpected(tok, "@ modifier", 'number or "start()" or "end()"')
            if not math.isfinite(seconds) or abs(seconds) > 9.2e15:
                shown = "NaN" if math.isnan(seconds) else ("+Inf" if seconds > 0 else "-Inf")
                if math.isfinite(seconds):
                    shown = f"{seconds:f}"
                self.error(_start(expr), f"timestamp out of bounds for @ modifier: {shown}")
            at = go_round(seconds * 1000)
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | SubqueryExpr):
            self.error(
                _start(expr),
                "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
            )
        if target.at is not None:
            self.error(_start(expr), "@ <timestamp> may not be set multiple times")
        return _with_modifier(expr, at=at)


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
