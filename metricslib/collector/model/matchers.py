"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) as selectors and ``match[]`` use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from metricslib.collector.model.regex import GoRegex, compile_go_regex

__all__ = ["MatchOp", "Matcher"]

MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label matcher as in ``{job=~"api|web"}``. Regexes are compiled by RE2
    (linear time) with Go's syntax, as Prometheus reads them, and fully
    anchored; ``value`` keeps the text as written."""

    name: str
    op: MatchOp
    value: str
    _regex: GoRegex | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"unknown matcher operator {self.op!r} for label {self.name!r}")
        if self.op in ("=~", "!~"):
            # "." matches newlines in matchers, as in Prometheus 3's ^(?s:...)$.
            # A bad pattern raises GoRegexError (a ValueError) with Go's reason.
            pattern = compile_go_regex(self.value, dot_matches_newline=True)
            object.__setattr__(self, "_regex", pattern)

    def matches(self, value: str) -> bool:
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        assert self._regex is not None
        hit = self._regex.matches(value)
        return hit if op == "=~" else not hit

    def matches_empty(self) -> bool:
        """Whether a series without this label would match (value "")."""
        return self.matches("")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'
