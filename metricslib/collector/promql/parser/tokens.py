"""Token cursor shared by the PromQL parser's parts: lookahead, errors, literals.

The parser is split by topic (:mod:`selectors` for selectors and their
modifiers, :mod:`parser` for expressions, calls and aggregations); every part
reads tokens through this cursor and reports errors through it, so messages
and positions stay uniform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from metricslib.collector.promql.parser.lexer import Token, format_error, lex
from metricslib.errors import PromQLParseError

__all__ = ["TokenStream"]


@dataclass(slots=True)
class TokenStream:
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
