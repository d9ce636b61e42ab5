"""Go (RE2) regular expressions read by Python's ``re``.

Prometheus compiles label-matcher and relabelling regexes with Go's RE2; most
of that syntax means the same in Python, and this module rewrites the parts
that do not. Shared by label matchers (``model.Matcher``), relabelling and
PromQL's ``label_replace``; it imports nothing of the collector.
"""

from __future__ import annotations

import re

__all__ = ["go_regex_error", "go_regex_to_python"]


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z",
    "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}  # fmt: skip
_INLINE_FLAGS = re.compile(r"\(\?([imsU-]+)\)")


def go_regex_to_python(pattern: str) -> str:
    """Rewrite RE2 (Go) regex syntax that Python's ``re`` rejects or reads differently.

    Handles mid-pattern flag groups such as ``((?i)pro).*`` (RE2 applies them to
    the rest of the enclosing group; Python needs ``(?i:...)``), POSIX classes
    such as ``[[:alpha:]]``, ``\\z`` and ``\\Q...\\E``. Anything else passes through.
    """
    out: list[str] = []
    closers = [0]  # per open group: how many scoped-flag groups to close with it
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "z":
                out.append("\\Z")
                i += 2
            elif nxt == "Q":
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2 : end]))
                i = end + 2
            else:
                out.append(pattern[i : i + 2])
                i += 2
            continue
        if ch == "[":
            j = i + 1
            cls = ["["]
            if j < n and pattern[j] == "^":
                cls.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                cls.append("\\]")
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\" and j + 1 < n:
                    cls.append(pattern[j : j + 2])
                    j += 2
                    continue
                m = re.match(r"\[:(\^?)([a-z]+):\]", pattern[j:])
                if m and m.group(2) in _POSIX_CLASSES and not m.group(1):
                    cls.append(_POSIX_CLASSES[m.group(2)])
                    j += m.end()
                    continue
                if pattern[j] == "[":
                    cls.append("\\[")
                    j += 1
                    continue
                cls.append(pattern[j])
                j += 1
            if j >= n:
                # Unterminated: leave it for the compiler to reject.
                out.append(pattern[i:])
                break
            cls.append("]")
            out.append("".join(cls))
            i = j + 1
            continue
        m = _INLINE_FLAGS.match(pattern, i)
        if m:
            flags = m.group(1).replace("U", "")
            if flags and not flags.startswith("-"):
                out.append(f"(?{flags}:")
                closers[-1] += 1
            i = m.end()
            continue
        if ch == "(":
            closers.append(0)
            out.append(ch)
        elif ch == ")" and len(closers) > 1:
            out.append(")" * closers.pop())
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    out.append(")" * closers[0])
    return "".join(out)


def go_regex_error(pattern: str, exc: Exception) -> str:
    """Go's wording for why ``pattern`` does not compile, from Python's error."""
    cause = exc.__cause__ if isinstance(exc.__cause__, re.error) else exc
    text = str(cause)
    if "missing ), unterminated subpattern" in text:
        return f"missing closing ): `{pattern}`"
    if "unbalanced parenthesis" in text:
        return f"unexpected ): `{pattern}`"
    if "unterminated character set" in text:
        return f"missing closing ]: `{pattern[pattern.rfind('[') :]}`"
    if "multiple repeat" in text:
        m = re.search(r"[*+?][*+?]", pattern)
        return f"invalid nested repetition operator: `{m.group() if m else pattern}`"
    if "nothing to repeat" in text:
        m = re.search(r"(?:^|[(|])([*+?])", pattern)
        return f"missing argument to repetition operator: `{m.group(1) if m else '*'}`"
    if "bad character range" in text:
        m = re.search(r"bad character range (\S+)", text)
        return f"invalid character class range: `{m.group(1) if m else pattern}`"
    if "bad escape" in text:
        m = re.search(r"bad escape (\\\S)", text)
        return f"invalid escape sequence: `{m.group(1) if m else pattern}`"
    return text
