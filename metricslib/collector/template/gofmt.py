"""Go's ``fmt``: ``Sprint``, ``Sprintln`` and ``Sprintf`` with Go's verbs, flags and float text.

Templates print values as Go's ``fmt`` does, which differs from Python in
the details users see: ``%v`` of a float64 is the shortest round-tripping
form with an exponent from 1e+06 up (``1e+06``, ``0.5``, ``1.234567e+06``),
infinities are ``+Inf``/``-Inf``, a map prints as ``map[k:v]``, and a
verb that does not fit its operand prints ``%!d(string=x)`` instead of
raising.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from metricslib.collector.model.quoting import go_quote
from metricslib.collector.template.values import NO_VALUE, GoStringer, go_fields, go_type

__all__ = ["format_float", "print_value", "sprint", "sprintf", "sprintln", "to_text"]


@dataclass
class _Spec:
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None


def _shortest(value: float) -> tuple[str, int]:
    """The shortest round-tripping digits of ``abs(value)`` and the decimal point position."""
    _sign, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    assert isinstance(exponent, int)
    if not text:
        return "0", 1
    point = len(digits) + exponent
    return text, point


def _exp_form(digits: str, point: int, upper: bool) -> str:
    exp = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}{'E' if upper else 'e'}{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fixed_form(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def format_float(
    value: float,
    verb: str = "v",
    prec: int | None = None,
    *,
    plus: bool = False,
    space: bool = False,
    sharp: bool = False,
) -> str:
    """One float64 as Go prints it with ``verb`` (``v g G e E f F``) and precision, unpadded."""
    if math.isnan(value):
        return "NaN" if not (plus or space) else ("+NaN" if plus else " NaN")
    if math.isinf(value):
        if value < 0:
            return "-Inf"
        return " Inf" if space and not plus else "+Inf"
    negative = math.copysign(1.0, value) < 0
    sign = "-" if negative else ("+" if plus else (" " if space else ""))
    if verb in "vgG" and prec is None:
        # Shortest digits; exponent form below 1e-4 and from 1e+06 up (strconv's 'g', -1).
        digits, point = _shortest(value)
        exp = point - 1
        if exp < -4 or exp >= 6:
            body = _exp_form(digits, point, verb == "G")
        else:
            body = _fixed_form(digits, point)
        if sharp and "." not in body:
            body += "."
        return sign + body
    p = 6 if prec is None else prec
    if verb in "vg":
        verb = "g"
    text = ("%" + ("#" if sharp else "") + f".{p}{verb}") % abs(value)
    if verb in "gG" and p == 0:
        text = ("%" + ("#" if sharp else "") + f".1{verb}") % abs(value)
    return sign + text


def _pad(text: str, spec: _Spec, numeric: bool = True) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    fill = spec.width - len(text)
    if spec.minus:
        return text + " " * fill
    if spec.zero:
        if numeric and text[:1] in "+- ":
            return text[0] + "0" * fill + text[1:]
        return "0" * fill + text
    return " " * fill + text


def _bad(verb: str, value: Any) -> str:
    if value is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(value)}={to_text(value, top=True)})"


def _format_int(value: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec, False)
    if verb == "q":
        return _pad(
            "'" + go_quote(chr(value))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'",
            spec,
            False,
        )
    if verb == "U":
        return _pad(f"U+{value:04X}", spec, False)
    base = {"d": "d", "v": "d", "x": "x", "X": "X", "o": "o", "O": "o", "b": "b"}[verb]
    digits = format(abs(value), base)
    if spec.prec is not None:
        digits = digits.rjust(spec.prec, "0") if spec.prec or value else ""
    prefix = ""
    if spec.sharp or verb == "O":
        prefix = {"x": "0x", "X": "0X", "o": "0", "O": "0o", "b": ""}.get(verb, "")
    sign = "-" if value < 0 else ("+" if spec.plus else (" " if spec.space else ""))
    text = sign + prefix + digits
    if spec.zero and spec.prec is None and not spec.minus and spec.width is not None:
        fill = spec.width - len(text)
        if fill > 0:
            return sign + prefix + "0" * fill + digits
    return _pad(text, spec)


def _format_float_verb(value: float, verb: str, spec: _Spec) -> str:
    text = format_float(value, verb, spec.prec, plus=spec.plus, space=spec.space, sharp=spec.sharp)
    if not math.isfinite(value) and spec.zero:
        return _pad(text, _Spec(minus=spec.minus, width=spec.width))
    return _pad(text, spec)


def _format_string(value: str, verb: str, spec: _Spec) -> str:
    if spec.prec is not None:
        value = value[: spec.prec]
    if verb in ("s", "v"):
        return _pad(value, spec, False)
    if verb == "q":
        return _pad(
            go_quote(value) if not spec.sharp or "`" in value else f"`{value}`", spec, False
        )
    if verb in ("x", "X"):
        data = value.encode()
        text = data.hex() if verb == "x" else data.hex().upper()
        return _pad(text, spec, False)
    return _bad(verb, value)


def _format(value: Any, verb: str, spec: _Spec, top: bool = True, deref: bool = False) -> str:
    if verb == "T":
        return _pad(go_type(value), spec, False)
    if value is NO_VALUE:
        return _pad("<invalid reflect.Value>", spec, False)
    if value is None:
        return _pad("<nil>", spec, False) if verb == "v" else _bad(verb, None)
    if isinstance(value, GoStringer) and verb in ("v", "s", "q"):
        text = value.go_string()
        return _format_string(text, verb, spec)
    if isinstance(value, bool):
        if verb in ("t", "v"):
            return _pad("true" if value else "false", spec, False)
        return _bad(verb, value)
    if isinstance(value, int):
        if verb in "dvxXoObcqU":
            return _format_int(value, verb, spec)
        return _bad(verb, value)
    if isinstance(value, float):
        if verb in "vgGeEfF":
            return _format_float_verb(value, verb, spec)
        return _bad(verb, value)
    if isinstance(value, str):
        return _format_string(value, verb, spec)
    if isinstance(value, Mapping):
        items = " ".join(
            f"{_format(k, verb, spec, False)}:{_format(value[k], verb, spec, False)}"
            for k in _sorted_keys(value)
        )
        return f"map[{items}]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format(v, verb, spec, False) for v in value) + "]"
    fields = go_fields(value)
    if fields is not None:
        inner = (
            "{"
            + " ".join(_format(getattr(value, p), verb, spec, False) for p in fields.values())
            + "}"
        )
        if getattr(value, "go_pointer", False) and not deref:
            # fmt prints a struct pointer operand as &{...}, a nested one as its address.
            return "&" + inner if top else "0xc000000000"
        return inner
    return _pad(str(value), spec, False)


def _sorted_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    try:
        return sorted(mapping)
    except TypeError:
        return list(mapping)


def to_text(value: Any, *, top: bool = False) -> str:
    """``%v`` of one value; ``top`` prints a struct pointer as ``&{...}`` as fmt does."""
    return _format(value, "v", _Spec(), top)


def print_value(value: Any) -> str:
    """What ``{{ x }}`` writes: ``%v`` of the value, a pointer followed, ``<no value>`` for none."""
    if value is NO_VALUE:
        return "<no value>"
    return _format(value, "v", _Spec(), True, deref=True)


def sprint(args: Sequence[Any]) -> str:
    """Go's ``fmt.Sprint``: a space between operands when neither is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(to_text(arg, top=True))
    return "".join(out)


def sprintln(args: Sequence[Any]) -> str:
    """Go's ``fmt.Sprintln``: spaces between all operands and a newline."""
    return " ".join(to_text(a, top=True) for a in args) + "\n"


def _int_arg(args: Sequence[Any], argn: int) -> bool:
    """Whether a ``*`` width or precision has its int operand (Go's ``intFromArg``; a bool is not one)."""
    return argn < len(args) and isinstance(args[argn], int) and not isinstance(args[argn], bool)


def sprintf(fmt: str, args: Sequence[Any]) -> str:
    """Go's ``fmt.Sprintf``, including its ``%!verb(...)`` texts for mistakes."""
    out: list[str] = []
    argn = 0
    i, n = 0, len(fmt)
    reordered = False
    while i < n:
        pct = fmt.find("%", i)
        if pct < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:pct])
        i = pct + 1
        spec = _Spec()
        while i < n and fmt[i] in "-+# 0":
            ch = fmt[i]
            if ch == "-":
                spec.minus, spec.zero = True, False
            elif ch == "+":
                spec.plus = True
            elif ch == "#":
                spec.sharp = True
            elif ch == " ":
                spec.space = True
            elif ch == "0":
                spec.zero = not spec.minus
            i += 1
        if i < n and fmt[i] == "[":
            close = fmt.find("]", i)
            if close > i and fmt[i + 1 : close].isdigit():
                argn = int(fmt[i + 1 : close]) - 1
                reordered = True
                i = close + 1
        if i < n and fmt[i] == "*":
            i += 1
            if _int_arg(args, argn):
                spec.width = args[argn]
                if spec.width < 0:
                    spec.minus, spec.width = True, -spec.width
            else:
                out.append("%!(BADWIDTH)")
            argn += 1
        else:
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > start:
                spec.width = int(fmt[start:i])
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if _int_arg(args, argn):
                    spec.prec = args[argn] if args[argn] >= 0 else None
                else:
                    out.append("%!(BADPREC)")
                argn += 1
            else:
                start = i
                while i < n and fmt[i].isdigit():
                    i += 1
                spec.prec = int(fmt[start:i]) if i > start else 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argn >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[argn]
        argn += 1
        if verb == "v":  # fmt reads %+v and %#v as struct-field and Go syntax, not as flags
            spec.plus = spec.sharp = False
        out.append(_format(value, verb, spec))
    if not reordered and argn < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type(a)}={to_text(a, top=True)}" for a in args[argn:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
