"""Go literals in templates: quoted strings, characters and numbers, read as Go reads them."""

from __future__ import annotations

import re

__all__ = ["GoNumber", "parse_number", "unquote"]

_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_OCTAL_INT = re.compile(r"0[0-7]+")


def unquote(quoted: str) -> str:
    """Go's ``strconv.Unquote`` for "...", `...` and '...'; ``ValueError('invalid syntax')`` otherwise."""
    if len(quoted) < 2 or quoted[0] != quoted[-1] or quoted[0] not in "\"'`":
        raise ValueError("invalid syntax")
    quote, body = quoted[0], quoted[1:-1]
    if quote == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == quote or ch == "\n":
            raise ValueError("invalid syntax")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        esc = body[i + 1]
        if esc in _SIMPLE:
            out.append(_SIMPLE[esc])
            i += 2
        elif esc == quote:
            out.append(esc)
            i += 2
        elif esc in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i + 2 : i + 2 + size]
            if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError("invalid syntax")
            code = int(digits, 16)
            if esc != "x" and (code > 0x10FFFF or 0xD800 <= code < 0xE000):
                raise ValueError("invalid syntax")
            out.append(chr(code))
            i += 2 + size
        elif esc in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits) or int(digits, 8) > 255:
                raise ValueError("invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError("invalid syntax")
    text = "".join(out)
    if quote == "'" and len(text) != 1:
        raise ValueError("invalid syntax")
    return text


class GoNumber:
    """A numeric constant: an int view, a float view, or both, as Go's parse.NumberNode."""

    __slots__ = ("float_value", "int_value", "is_float", "is_int")

    def __init__(self) -> None:
        self.is_int = False
        self.is_float = False
        self.int_value = 0
        self.float_value = 0.0


def _parse_int(text: str) -> int | None:
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    try:
        if _OCTAL_INT.fullmatch(body):  # Go reads a leading 0 as octal; Python refuses it
            return sign * int(body[1:], 8)
        return sign * int(body, 0)
    except ValueError:
        return None


def _parse_float(text: str) -> float | None:
    body = text.lstrip("+-")
    try:
        if body[:2].lower() == "0x":
            value = float.fromhex(body.replace("_", ""))
            return -value if text.startswith("-") else value
        if body.lower() in ("inf", "infinity", "nan"):
            return None
        return float(text)
    except ValueError:
        return None


def parse_number(text: str) -> GoNumber:
    """Go's rules for a number constant; ``ValueError`` with Go's message when it is not one."""
    n = GoNumber()
    i = _parse_int(text)
    if i is not None and -(2**63) <= i < 2**64:
        if i < 2**63:
            n.is_int, n.int_value = True, i
        n.is_float, n.float_value = True, float(i)
        if not n.is_int:
            raise ValueError(f"integer overflow: {text!r}")
        return n
    f = _parse_float(text)
    if f is not None:
        if not any(c in text for c in ".eEpP"):
            raise ValueError(f'integer overflow: "{text}"')
        n.is_float, n.float_value = True, f
        if f == int(f) and abs(f) < 2**63:
            n.is_int, n.int_value = True, int(f)
        return n
    raise ValueError(f'illegal number syntax: "{text}"')
