"""Go (RE2) regular expressions, compiled by RE2 itself.

Prometheus compiles label-matcher, relabelling and ``label_replace`` regexes
with Go's ``regexp`` (an RE2 port) as ``^(?:REGEX)$``. This module does the
same with the RE2 library (``google-re2``): the same syntax, the same
rejections (look-arounds, back-references, repeat counts over 1000) and the
same guarantee that matching takes time linear in the input, so no pattern
can stall the process the way a backtracking engine can. Errors carry Go's
wording. It imports nothing of the collector.
"""

from __future__ import annotations

from collections.abc import Callable

import re2

__all__ = ["GoMatch", "GoRegex", "GoRegexError", "GoSearch", "compile_go_regex", "compile_go_search"]

# RE2's (C++) error codes in Go's words (Go's regexp/syntax ErrorCode strings).
_GO_WORDING = {
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "unexpected )": "unexpected )",
    "bad repetition operator": "invalid nested repetition operator",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class range": "invalid character class range",
    "invalid character class": "invalid character class",
    "trailing \\": "trailing backslash at end of expression",
    "invalid named capture group": "invalid named capture",
    "invalid UTF-8": "invalid UTF-8",
}


class GoRegexError(ValueError):
    """A pattern Go's ``regexp`` would not compile; ``str()`` is Go's reason
    (without the ``error parsing regexp:`` prefix callers add as Prometheus does)."""


def _encode(text: str) -> bytes:
    # Strings may carry invalid UTF-8 as surrogate escapes (the PromQL lexer
    # keeps them so); hand RE2 the original bytes. Other lone surrogates cannot
    # come from bytes; pass them through (RE2 sees invalid UTF-8, never a crash).
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _go_only_rejections(pattern: str) -> str | None:
    """What Go (1.19/1.20, as in Prometheus 2.42) rejects and C++ RE2 accepts."""
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "C":
                return "invalid escape sequence: `\\C`"
            if nxt == "Q" and not in_class:
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                close = pattern.find(":]", i + 2)
                i = i + 2 if close < 0 else close + 2
                continue
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1  # a leading "]" is a literal
            continue
        elif pattern.startswith("(?<", i):  # Go 1.19 knows no (?<name>, nor look-behind
            return "invalid or unsupported Perl syntax: `(?<`"
        i += 1
    return None


def _go_message(cpp: str) -> str:
    code, sep, arg = cpp.partition(": ")
    if code == "pattern too large - compile failed":
        return "expression too large"
    wording = _GO_WORDING.get(code)
    if wording is None:
        return cpp
    return f"{wording}: `{arg}`" if sep else wording


class GoMatch:
    """The groups of one match; ``group`` as ``re.Match.group`` for one key,
    raising ``IndexError`` for a group the pattern does not have."""

    __slots__ = ("_groupindex", "_groups")

    def __init__(self, groups: tuple[str | None, ...], groupindex: dict[str, int]) -> None:
        self._groups = groups
        self._groupindex = groupindex

    def group(self, key: int | str) -> str | None:
        if isinstance(key, str):
            if key not in self._groupindex:
                raise IndexError(f"no such group {key!r}")
            key = self._groupindex[key]
        if not 0 <= key < len(self._groups):
            raise IndexError(f"no such group {key}")
        return self._groups[key]


class _Compiled:
    """What both forms keep: the pattern as written, the RE2 program, and the group names."""

    __slots__ = ("_groupindex", "_regex", "pattern")

    def __init__(self, pattern: str, regex: re2._Regexp[bytes]) -> None:
        self.pattern = pattern
        self._regex = regex
        self._groupindex = {_decode(k) if isinstance(k, bytes) else k: v for k, v in regex.groupindex.items()}

    def _match(self, m: re2._Match[bytes]) -> GoMatch:
        groups = tuple(None if g is None else _decode(g) for g in (m.group(0), *m.groups()))
        return GoMatch(groups, self._groupindex)


class GoRegex(_Compiled):
    """A compiled Go regex in Prometheus's anchored form. ``matches`` answers
    yes/no; ``fullmatch`` also returns the groups (for ``$1`` templates). Both
    search the anchored form, as Go's ``MatchString`` does, so even a pattern
    such as ``a)|(b`` means what it means to Prometheus."""

    __slots__ = ()

    def matches(self, text: str) -> bool:
        return self._regex.search(_encode(text)) is not None

    def fullmatch(self, text: str) -> GoMatch | None:
        m = self._regex.search(_encode(text))
        if m is None:
            return None
        return self._match(m)


class GoSearch(_Compiled):
    """A compiled Go regex used as Go's ``regexp`` is used unanchored: the
    template functions ``match`` (``MatchString``) and ``reReplaceAll``
    (``ReplaceAllString``)."""

    __slots__ = ()

    def search(self, text: str) -> bool:
        return self._regex.search(_encode(text)) is not None

    def replace_all(self, text: str, expand: Callable[[GoMatch], str]) -> str:
        """Each match replaced by ``expand(match)``; as Go, an empty match right
        after a match is skipped."""
        data = _encode(text)
        out: list[bytes] = []
        last, prev_end = 0, -1
        for m in self._regex.finditer(data):
            if m.start() == m.end() == prev_end:
                continue
            out.append(data[last : m.start()])
            out.append(_encode(expand(self._match(m))))
            last = prev_end = m.end()
        out.append(data[last:])
        return _decode(b"".join(out))


def _compile(source: str, pattern: str, dot_matches_newline: bool) -> re2._Regexp[bytes]:
    reason = _go_only_rejections(pattern)
    if reason is not None:
        raise GoRegexError(reason)
    options = re2.Options()
    options.log_errors = False
    options.dot_nl = dot_matches_newline
    try:
        return re2.compile(_encode(source), options)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else str(exc)
        text = _decode(raw) if isinstance(raw, bytes) else str(raw)
        raise GoRegexError(_go_message(text)) from None


def compile_go_regex(pattern: str, *, dot_matches_newline: bool = False) -> GoRegex:
    """Compile ``pattern`` as Prometheus does (``^(?:pattern)$``, Go syntax).

    Raises :class:`GoRegexError` with Go's wording, which names the offending
    part of the anchored form (e.g. ``missing closing ]: `[a)$```) as
    Prometheus's error messages do.
    """
    return GoRegex(pattern, _compile(f"^(?:{pattern})$", pattern, dot_matches_newline))


def compile_go_search(pattern: str) -> GoSearch:
    """Compile ``pattern`` unanchored, as Go's ``regexp.Compile``; errors as :func:`compile_go_regex`."""
    return GoSearch(pattern, _compile(pattern, pattern, False))
