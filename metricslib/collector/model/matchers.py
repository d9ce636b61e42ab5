"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) as selectors and ``match[]`` use them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from metricslib.collector.model.regex import go_regex_to_python

__all__ = ["MatchOp", "Matcher"]

MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label matcher as in ``{job=~"api|web"}``. Regexes are read with Go's RE2
    syntax, as Prometheus reads them, and fully anchored; ``value`` keeps the
    text as written."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"unknown matcher operator {self.op!r} for label {self.name!r}")
        if self.op in ("=~", "!~"):
            try:
                # DOTALL: Go's RE2 lets "." match newlines in Prometheus's anchored form.
                pattern = re.compile(f"(?s:{go_regex_to_python(self.value)})")
            except re.error as exc:
                raise ValueError(
                    f"invalid regular expression {self.value!r} for label {self.name!r}: {exc}"
                ) from exc
            object.__setattr__(self, "_regex", pattern)

    def matches(self, value: str) -> bool:
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(value) is not None
        return hit if op == "=~" else not hit

    def matches_empty(self) -> bool:
        """Whether a series without this label would match (value "")."""
        return self.matches("")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'
