"""Go text/template's lexer: template text to tokens, with Go's trim markers and comments.

Delimiters are ``{{`` and ``}}``. ``{{- `` trims the white space before an
action and `` -}}`` the white space after it (the space beside the dash is
required, as in Go); ``{{/* ... */}}`` is a comment. Inside an action,
newlines count as spaces (Go 1.16 and later).
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass

from metricslib.collector.model.quoting import go_quote

__all__ = ["KEYWORDS", "Kind", "Token", "lex"]


class Kind(enum.Enum):
    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    SPACE = "space"
    IDENT = "identifier"
    FIELD = "field"
    VARIABLE = "variable"
    STRING = "string"
    RAW_STRING = "raw string"
    CHAR = "char"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    DOT = "."
    PIPE = "|"
    LPAREN = "("
    RPAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    KEYWORD = "keyword"
    COMMENT = "comment"
    CHAR_OTHER = "character"  # any other printable ASCII: the parser reports it as unexpected
    ERROR = "error"  # a lexical error, reported when the parser reaches it (Go lexes lazily)
    EOF = "EOF"


KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
)

_SPACE = " \t\r\n"
_LEFT, _RIGHT = "{{", "}}"


@dataclass(frozen=True)
class Token:
    kind: Kind
    value: str
    pos: int  # offset in the text, for Go's line:col in error messages
    line: int

    def describe(self) -> str:
        """How Go's parser names a token in ``unexpected X`` messages."""
        if self.kind is Kind.EOF:
            return "EOF"
        if self.kind is Kind.ERROR:
            return self.value
        if self.kind in (Kind.KEYWORD, Kind.DOT, Kind.NIL):  # Go's "keyword" items
            return f"<{self.value}>"
        if len(self.value) > 10:
            return f"{go_quote(self.value[:10])}..."
        return go_quote(self.value)


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


class _LexError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Lexer:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.paren_depth = 0
        # Offsets of the newlines: a token's line is a binary search, not a count from the start.
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def error(self, message: str, pos: int) -> _LexError:
        return _LexError(message, pos)

    def emit(self, kind: Kind, start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start, self.line_at(start)))

    def run(self) -> list[Token]:
        try:
            return self.lex_all()
        except _LexError as exc:
            self.tokens.append(Token(Kind.ERROR, exc.message, exc.pos, self.line_at(exc.pos)))
            self.tokens.append(Token(Kind.EOF, "", len(self.text), self.line_at(len(self.text))))
            return self.tokens

    def lex_all(self) -> list[Token]:
        text = self.text
        trim_next = False
        while True:
            start = self.pos
            left = text.find(_LEFT, start)
            end_text = len(text) if left < 0 else left
            seg_start = start
            if trim_next:
                while seg_start < end_text and text[seg_start] in _SPACE:
                    seg_start += 1
            seg_end = end_text
            inner = end_text + len(_LEFT)
            trim_left = (
                left >= 0
                and text[inner : inner + 1] == "-"
                and text[inner + 1 : inner + 2] in tuple(_SPACE)
            )
            if trim_left:
                while seg_end > seg_start and text[seg_end - 1] in _SPACE:
                    seg_end -= 1
            if seg_end > seg_start:
                self.emit(Kind.TEXT, seg_start, seg_end)
            if left < 0:
                self.tokens.append(Token(Kind.EOF, "", len(text), self.line_at(len(text))))
                return self.tokens
            self.pos = inner + (2 if trim_left else 0)
            trim_next = self.lex_action(left)

    def at_right(self) -> tuple[bool, bool]:
        text, pos = self.text, self.pos
        if text.startswith(_RIGHT, pos):
            return True, False
        if (
            pos + 1 < len(text)
            and text[pos] in _SPACE
            and text[pos + 1] == "-"
            and text.startswith(_RIGHT, pos + 2)
        ):
            return True, True
        return False, False

    def lex_action(self, left: int) -> bool:
        """Lex one action from after its left delimiter; returns whether it trims what follows."""
        text = self.text
        # A comment must follow the delimiter (and trim marker) directly.
        if text.startswith("/*", self.pos):
            close = text.find("*/", self.pos + 2)
            if close < 0:
                raise self.error("unclosed comment", left)
            self.pos = close + 2
            is_right, trim = self.at_right()
            if not is_right:
                raise self.error("comment ends before closing delimiter", left)
            self.emit(Kind.COMMENT, left, self.pos)
            self.pos += 4 if trim else 2
            return trim
        self.tokens.append(Token(Kind.LEFT, _LEFT, left, self.line_at(left)))
        self.paren_depth = 0
        while True:
            is_right, trim = self.at_right()
            if is_right and self.paren_depth == 0:
                self.tokens.append(Token(Kind.RIGHT, _RIGHT, self.pos, self.line_at(self.pos)))
                self.pos += 4 if trim else 2
                return trim
            if self.pos >= len(text):
                raise self.error("unclosed action", left)
            self.lex_item(left)

    def lex_item(self, left: int) -> None:
        text, start = self.text, self.pos
        ch = text[start]
        if ch in _SPACE:
            end = start + 1
            # Stop before " -}}" so that the delimiter check sees its trim marker.
            while end < len(text) and text[end] in _SPACE and not text.startswith("-}}", end + 1):
                end += 1
            self.pos = end
            self.emit(Kind.SPACE, start, end)
            return
        if text.startswith(_RIGHT, start):  # inside parentheses
            raise self.error("unclosed left paren", start)
        if ch == ":":
            if text[start + 1 : start + 2] != "=":
                raise self.error("expected :=", start)
            self.pos = start + 2
            self.emit(Kind.DECLARE, start, self.pos)
            return
        simple = {"|": Kind.PIPE, "=": Kind.ASSIGN, ",": Kind.COMMA}
        if ch in simple:
            self.pos = start + 1
            self.emit(simple[ch], start, self.pos)
            return
        if ch == "(":
            self.paren_depth += 1
            self.pos = start + 1
            self.emit(Kind.LPAREN, start, self.pos)
            return
        if ch == ")":
            self.paren_depth -= 1  # an unmatched one is the parser's "unexpected" error
            self.pos = start + 1
            self.emit(Kind.RPAREN, start, self.pos)
            return
        if ch == '"':
            self.pos = self.scan_quoted(start, '"', "unterminated quoted string")
            self.emit(Kind.STRING, start, self.pos)
            return
        if ch == "'":
            self.pos = self.scan_quoted(start, "'", "unterminated character constant")
            self.emit(Kind.CHAR, start, self.pos)
            return
        if ch == "`":
            close = text.find("`", start + 1)
            if close < 0:
                raise self.error("unterminated raw quoted string", start)
            self.pos = close + 1
            self.emit(Kind.RAW_STRING, start, self.pos)
            return
        if ch == "$":
            end = start + 1
            while end < len(text) and _is_alnum(text[end]):
                end += 1
            self.pos = end
            self.emit(Kind.VARIABLE, start, end)
            return
        if ch == "." and not text[start + 1 : start + 2].isdigit():
            end = start + 1
            while end < len(text) and _is_alnum(text[end]):
                end += 1
            self.pos = end
            self.emit(Kind.DOT if end == start + 1 else Kind.FIELD, start, end)
            return
        if ch.isdigit() or (
            ch in "+-."
            and (
                text[start + 1 : start + 2].isdigit()
                or (ch != "." and text[start + 1 : start + 2] == ".")
            )
        ):
            self.pos = self.scan_number(start)
            self.emit(Kind.NUMBER, start, self.pos)
            return
        if _is_alnum(ch):
            end = start
            while end < len(text) and _is_alnum(text[end]):
                end += 1
            word = text[start:end]
            self.pos = end
            if word in KEYWORDS:
                kind = Kind.KEYWORD
            elif word in ("true", "false"):
                kind = Kind.BOOL
            elif word == "nil":
                kind = Kind.NIL
            else:
                kind = Kind.IDENT
            self.emit(kind, start, end)
            return
        if ch.isascii() and ch.isprintable():
            self.pos = start + 1
            self.emit(Kind.CHAR_OTHER, start, self.pos)
            return
        raise self.error(f"unrecognized character in action: U+{ord(ch):04X} '{ch}'", start)

    def scan_number(self, start: int) -> int:
        """Go's scanNumber: sign, base prefix, digits, fraction, exponent; then no letter may follow."""
        text, i = self.text, start

        def run(chars: str, i: int) -> int:
            while i < len(text) and text[i] in chars:
                i += 1
            return i

        if text[i : i + 1] in ("+", "-"):
            i += 1
        digits = "0123456789_"
        if text[i : i + 1] == "0":
            i += 1
            prefix = text[i : i + 1]
            if prefix in ("x", "X"):
                digits, i = "0123456789abcdefABCDEF_", i + 1
            elif prefix in ("o", "O"):
                digits, i = "01234567_", i + 1
            elif prefix in ("b", "B"):
                digits, i = "01_", i + 1
        i = run(digits, i)
        if text[i : i + 1] == ".":
            i = run(digits, i + 1)
        exponent = "eE" if len(digits) == 11 else ("pP" if len(digits) == 23 else "")
        if exponent and text[i : i + 1] and text[i] in exponent:
            i += 1
            if text[i : i + 1] in ("+", "-"):
                i += 1
            i = run("0123456789_", i)
        if text[i : i + 1] == "i":
            i += 1
        if i < len(text) and _is_alnum(text[i]):
            raise self.error(f'bad number syntax: "{text[start : i + 1]}"', start)
        return i

    def scan_quoted(self, start: int, quote: str, unterminated: str) -> int:
        text, i = self.text, start + 1
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text):
                i += 2
                continue
            if c == "\n":
                break
            if c == quote:
                return i + 1
            i += 1
        raise self.error(unterminated, start)


def lex(name: str, text: str) -> list[Token]:
    """All tokens of ``text`` (ending with EOF); a lexical error is a ``TemplateError``."""
    return _Lexer(name, text).run()
