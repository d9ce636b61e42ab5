"""Go's ``strconv.Quote`` (and ``%q``), which error messages and printed expressions use.

Prometheus quotes names and values in its messages with Go's rules, and users
compare those messages with ours. One definition keeps the PromQL parser, the
functions, the rule-file checker and the template engine from drifting apart.
Bytes that were not valid UTF-8 reach us as ``surrogateescape`` code points
(U+DC80..U+DCFF) and print as ``\\xNN``, as Go prints the raw byte.
"""

from __future__ import annotations

__all__ = ["go_quote"]

_NAMED = {
    '"': '\\"',
    "\\": "\\\\",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(text: str) -> str:
    """``text`` in double quotes with Go's escapes; printable Unicode stays as it is."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        code = ord(ch)
        named = _NAMED.get(ch)
        if named is not None:
            out.append(named)
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        # Python's isprintable() and Go's IsPrint agree: letters, marks,
        # numbers, punctuation, symbols and the ASCII space.
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
