"""PromQL lexer: query text to a flat list of tokens.

Keywords (``sum``, ``by``, ``offset``, ``and`` ...) are emitted as ``IDENT``
tokens and classified by the parser, because PromQL lets most of them double
as metric and label names (``sum{job="x"}``, ``by (offset)``).

String literals follow Go's quoting rules (Prometheus unquotes with them).
Escapes such as ``\\xc5`` may produce bytes that are not valid UTF-8; those
are kept as lone surrogates (Python's ``surrogateescape``) so that the engine
can reject them as invalid label names and ``model.quoting.go_quote`` can print them the
way Prometheus does (``"a\\xc5z"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.parser.functions import AGGREGATORS
from metricslib.errors import PromQLParseError

__all__ = [
    "DURATION_RE",
    "Token",
    "TokenKind",
    "format_error",
    "lex",
    "parse_duration_ms",
    "unquote",
]

TokenKind = Literal["NUMBER", "DURATION", "STRING", "IDENT", "OP", "EOF"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    pos: int

    def describe(self) -> str:
        """How Prometheus names a token in ``unexpected ...`` messages."""
        if self.kind == "EOF":
            return "end of input"
        word = self.text.lower()
        if self.kind == "OP":
            return f'"{self.text}"' if self.text in _PUNCTUATION else f"<op:{self.text}>"
        if self.kind == "IDENT":
            if word in _WORD_OPERATORS:
                return f"<op:{self.text}>"
            if word in AGGREGATORS:
                return f"<aggr:{self.text}>"
            if word in _KEYWORDS:
                return f"<{self.text}>"
            if word in ("inf", "nan"):
                return f"number {_short(self.text)}"
            kind = "metric identifier" if ":" in self.text else "identifier"
            return f"{kind} {go_quote(self.text)}"
        kind = {"NUMBER": "number", "DURATION": "duration", "STRING": "string"}[self.kind]
        return f"{kind} {_short(self.text)}"


def _short(text: str) -> str:
    """Go's ``%.10q...`` for long token values, ``%q`` otherwise."""
    return go_quote(text[:10]) + "..." if len(text) > 10 else go_quote(text)


_PUNCTUATION = frozenset({"(", ")", "{", "}", "[", "]", ",", "=", ":"})
_WORD_OPERATORS = frozenset({"and", "or", "unless", "atan2"})
_KEYWORDS = frozenset(
    {"offset", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
     "start", "end", "step"}
)  # fmt: skip


def format_error(query: str, pos: int, message: str) -> str:
    """Prometheus's ``LINE:COL: parse error: MSG`` (1-based line and byte column)."""
    prefix = query[: max(pos, 0)].encode("utf-8", "surrogateescape")
    line = prefix.count(b"\n") + 1
    col = len(prefix) - (prefix.rfind(b"\n") + 1) + 1
    return f"{line}:{col}: parse error: {message}"


def _error(query: str, pos: int, message: str) -> PromQLParseError:
    return PromQLParseError(format_error(query, pos, message), pos)


_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
#: A Prometheus duration: one or more ``<int><unit>`` parts, largest unit first.
DURATION_RE = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_DURATION_PART = re.compile(r"([0-9]+)(ms|[smhdwy])")
_UNIT_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
#: The longest duration Prometheus accepts: Go's time.Duration (int64 nanoseconds), ~292 years.
MAX_DURATION_MS = (2**63 - 1) // 1_000_000
DURATION_OUT_OF_RANGE = "duration out of range"


def check_duration_range(ms: int) -> int:
    """``ms``, or ValueError("duration out of range") as Prometheus says past ~292 years."""
    if abs(ms) > MAX_DURATION_MS:
        raise ValueError(DURATION_OUT_OF_RANGE)
    return ms


def parse_duration_ms(text: str) -> int:
    """``1h30m`` -> 5_400_000. Raises ValueError when units repeat or are out of order."""
    if not DURATION_RE.fullmatch(text):
        raise ValueError(f"not a valid duration string: {text!r}")
    total = 0
    last = -1
    for number, unit in _DURATION_PART.findall(text):
        rank = _UNIT_ORDER.index(unit)
        if rank <= last:
            raise ValueError(f"not a valid duration string: {text!r}")
        last = rank
        total += int(number) * _UNITS_MS[unit]
    return check_duration_range(total)


_DURATION_TOKEN_RE = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+(?![A-Za-z0-9_])")
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+")
_DEC_RE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SIMPLE_ESCAPES = {
    "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92,
}  # fmt: skip


def unquote(literal: str, query: str | None = None, pos: int = 0) -> str:
    """Decode a quoted PromQL string literal (``"..."``, ``'...'`` or a backtick string).

    ``query`` and ``pos`` (where the literal starts in it) locate errors."""
    if query is None:
        query = literal
    quote, body = literal[0], literal[1:-1]
    if quote == "`":
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        at = pos  # Prometheus points at the string, not the escape
        if i + 1 >= len(body):
            raise _error(query, at, "escape sequence not terminated")
        esc = body[i + 1]
        i += 2
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
        elif esc == quote:
            out.append(ord(esc))
        elif esc in "xuU01234567":
            if esc in "01234567":
                digits, base, i = body[i - 1 : i + 2], 8, i + 2
            else:
                n = {"x": 2, "u": 4, "U": 8}[esc]
                digits, base, i = body[i : i + n], 16, i + n
            want = 3 if base == 8 else {"x": 2, "u": 4, "U": 8}[esc]
            valid = "01234567" if base == 8 else "0123456789abcdefABCDEF"
            bad = next((c for c in digits if c not in valid), None)
            if bad is not None:
                raise _error(query, at, f"illegal character {_go_rune(bad)} in escape sequence")
            if len(digits) != want:
                raise _error(query, at, "escape sequence not terminated")
            code = int(digits, base)
            if esc in "uU":
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise _error(query, at, "escape sequence is an invalid Unicode code point")
                out += chr(code).encode("utf-8")
            elif code > 255:
                raise _error(query, at, "escape sequence is an invalid Unicode code point")
            else:
                out.append(code)
        else:
            raise _error(query, at, f"unknown escape sequence {_go_rune(esc)}")
    return out.decode("utf-8", "surrogateescape")


def _go_rune(ch: str) -> str:
    """Go's ``%#U``: ``U+0063 'c'``."""
    return f"U+{ord(ch):04X} '{ch}'"


def _scan_string(query: str, start: int) -> int:
    """Index just past the closing quote of the string starting at ``start``."""
    quote = query[start]
    i = start + 1
    n = len(query)
    while i < n:
        ch = query[i]
        if ch == quote:
            return i + 1
        if quote != "`":
            if ch == "\\":
                i += 2
                continue
            if ch == "\n":
                break
        i += 1
    raise _error(query, start, "unterminated quoted string")


# One pass of this pattern finds the next token; strings and numbers get a closer look.
_TOKEN_RE = re.compile(
    r"""(?P<skip>[ \t\r\n]+|\#[^\n]*)
      | (?P<quote>["'`])
      | (?P<number>[0-9]|\.[0-9])
      | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=(){}\[\],:@])""",
    re.VERBOSE,
)


def lex(query: str) -> list[Token]:
    """Split ``query`` into tokens, ending with an ``EOF`` token."""
    tokens: list[Token] = []
    append = tokens.append
    i = 0
    n = len(query)
    # Inside [...] a colon separates range and step ("[5m:1m]"); elsewhere it
    # may start a recording-rule style metric name (":job:rate5m").
    brackets = 0
    colon_in_bracket = False
    # Prometheus's lexer itself reports unbalanced (), [] and {}.
    parens = 0
    in_braces = False
    match = _TOKEN_RE.match
    while i < n:
        if brackets and query[i] == ":":
            if colon_in_bracket:
                raise _error(query, i, "unexpected colon ':'")
            colon_in_bracket = True
            append(Token("OP", ":", i))
            i += 1
            continue
        m = match(query, i)
        if m is None:
            ch = query[i]
            if ch == "!":
                nxt = query[i + 1] if i + 1 < n else ""
                raise _error(query, i, f"unexpected character after '!': {nxt!r}")
            raise _error(query, i, f"unexpected character: {ch!r}")
        kind = m.lastgroup
        if in_braces and kind in ("number", "op", "ident"):
            # Inside {...} Prometheus lexes only names, strings, matcher operators and ",".
            bad = _braces_violation(query, i, m)
            if bad >= 0:
                raise _error(query, bad, f"unexpected character inside braces: {query[bad]!r}")
            if m.group() == "==":
                # Lexed as two "=" there, so the second one is what is unexpected.
                append(Token("OP", "=", i))
                i += 1
                continue
        if kind == "skip":
            i = m.end()
        elif kind == "ident":
            append(Token("IDENT", m.group(), i))
            i = m.end()
        elif kind == "quote":
            end = _scan_string(query, i)
            append(Token("STRING", query[i:end], i))
            i = end
        elif kind == "number":
            i = _lex_number(query, i, tokens)
        else:
            op = m.group()
            if op in _BALANCED:
                if op == "(":
                    parens += 1
                elif op == ")":
                    if parens == 0:
                        # Prometheus reports this one just past the parenthesis.
                        raise _error(query, i + 1, "unexpected right parenthesis ')'")
                    parens -= 1
                elif op == "[":
                    brackets += 1
                    colon_in_bracket = False
                elif op == "]":
                    if brackets == 0:
                        raise _error(query, i, "unexpected right bracket ']'")
                    brackets -= 1
                elif op == "{":
                    if in_braces:
                        raise _error(query, i, "unexpected left brace '{'")
                    in_braces = True
                elif not in_braces:
                    raise _error(query, i, "unexpected character: '}'")
                else:
                    in_braces = False
            elif op in ("=~", "!~") and not in_braces:
                raise _error(query, i, f"unexpected character after '{op[0]}': '~'")
            append(Token("OP", op, i))
            i = m.end()
    if in_braces:
        raise _error(query, n, "unexpected end of input inside braces")
    if parens:
        raise _error(query, n, "unclosed left parenthesis")
    if brackets:
        raise _error(query, n, "unclosed left bracket")
    append(Token("EOF", "", n))
    return tokens


_BALANCED = frozenset("()[]{}")
_BRACE_OPS = frozenset({"=", "!=", "=~", "!~", ",", "}", "{", "=="})


def _braces_violation(query: str, i: int, m: re.Match[str]) -> int:
    """Offset of the first character Prometheus's lexer refuses inside braces, or -1."""
    text = m.group()
    if m.lastgroup == "number":
        return i
    if m.lastgroup == "ident":
        colon = text.find(":")
        return i + colon if colon >= 0 else -1
    return -1 if text in _BRACE_OPS else i


def _bad_number_end(query: str, end: int) -> int:
    """Where Prometheus's lexer stops on a malformed number, so the error quotes the
    same text: a stray "." is included; after a unit letter, one more character."""
    n = len(query)
    if query[end] == ".":
        return end + 1
    if query[end] not in "smhdwy":
        return end
    j = end + 1
    if j < n and query[j] == "s":
        j += 1
    return min(j + 1, n)


def _lex_number(query: str, i: int, tokens: list[Token]) -> int:
    for regex, kind in ((_DURATION_TOKEN_RE, "DURATION"), (_HEX_RE, "NUMBER"), (_DEC_RE, "NUMBER")):
        m = regex.match(query, i)
        if m is None:
            continue
        end = m.end()
        if kind == "NUMBER" and end < len(query) and (query[end].isalnum() or query[end] in "_."):
            bad = query[i : _bad_number_end(query, end)]
            raise _error(query, i, f"bad number or duration syntax: {go_quote(bad)}")
        if kind == "DURATION":
            try:
                parse_duration_ms(m.group())
            except ValueError as exc:
                # Out of range is the parser's error, at the duration's position.
                if str(exc) != DURATION_OUT_OF_RANGE:
                    raise _error(query, i, f"not a valid duration string: {go_quote(m.group())}") from None
        tokens.append(Token(kind, m.group(), i))  # type: ignore[arg-type]
        return end
    raise _error(query, i, f"bad number or duration syntax: {go_quote(query[i])}")

