"""Relabelling, with Prometheus's semantics (2.42): ``relabel_configs`` and
``metric_relabel_configs`` share this code.

:class:`RelabelConfig` is one validated rule; :func:`relabel` applies a list of
rules to a label dict and returns the new dict, or ``None`` when a ``keep`` /
``drop`` / ``keepequal`` / ``dropequal`` rule drops the whole set.

Regexes are anchored at both ends (``foo`` matches only ``foo``) and, as in Go,
``.`` does not match a newline. Templates (``replacement`` and, for
``replace``, ``target_label``) expand ``$1``, ``${1}``, ``$name``, ``${name}``
and ``$$`` the way Go's ``Regexp.Expand`` does: ``$1x`` names group ``1x``,
which does not exist, so it expands to nothing — write ``${1}x``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from metricslib.collector.model.regex import GoMatch, GoRegex, GoRegexError, compile_go_regex
from metricslib.model import LABEL_NAME_RE

__all__ = [
    "ACTIONS",
    "DEFAULT_REGEX",
    "LABEL_NAME_RE",
    "RelabelConfig",
    "expand_template",
    "hashmod",
    "relabel",
]

ACTIONS = (
    "replace",
    "keep",
    "drop",
    "keepequal",
    "dropequal",
    "hashmod",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "lowercase",
    "uppercase",
)
DEFAULT_REGEX = "(.*)"
# What Prometheus accepts as a templated target label or labelmap replacement.
# Nested repeats: RE2 keeps them linear where Python's re would backtrack.
_TEMPLATE_TARGET_RE = compile_go_regex(r"(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_]+")


def _compile(pattern: str) -> GoRegex:
    # Prometheus compiles ^(?:...)$ with Go's RE2: the same syntax, rejections and
    # linear-time matching, so a hostile rule cannot stall scrapes.
    return compile_go_regex(pattern)


@dataclass(frozen=True)
class RelabelConfig:
    """One relabelling rule. Build it with :meth:`create` to get validation."""

    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: str = DEFAULT_REGEX
    modulus: int = 0
    target_label: str = ""
    replacement: str = "$1"
    action: str = "replace"
    compiled: GoRegex = field(
        default_factory=lambda: _compile(DEFAULT_REGEX), compare=False, repr=False
    )

    @classmethod
    def create(
        cls,
        *,
        source_labels: Sequence[str] = (),
        separator: str = ";",
        regex: str = DEFAULT_REGEX,
        modulus: int = 0,
        target_label: str = "",
        replacement: str = "$1",
        action: str = "replace",
    ) -> RelabelConfig:
        """Validate like Prometheus does; raises ``ValueError`` with the reason."""
        action = action.lower()
        if action not in ACTIONS:
            raise ValueError(f"unknown relabel action {action!r} (one of {', '.join(ACTIONS)})")
        try:
            compiled = _compile(regex)
        except GoRegexError as exc:
            raise ValueError(f"invalid regex {regex!r}: error parsing regexp: {exc}") from exc
        for name in source_labels:
            if not LABEL_NAME_RE.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid label name in source_labels")
        if modulus < 0:
            raise ValueError(f"modulus must not be negative, got {modulus}")
        if action == "hashmod" and modulus == 0:
            raise ValueError("relabel configuration for hashmod requires non-zero modulus")
        needs_target = ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
        if action in needs_target and not target_label:
            raise ValueError(f"relabel configuration for {action} action requires 'target_label' value")
        if action == "replace" and not _TEMPLATE_TARGET_RE.matches(target_label):
            raise ValueError(f"{target_label!r} is invalid 'target_label' for {action} action")
        if action in needs_target and action != "replace" and not LABEL_NAME_RE.fullmatch(target_label):
            raise ValueError(f"{target_label!r} is invalid 'target_label' for {action} action")
        if action == "labelmap" and not _TEMPLATE_TARGET_RE.matches(replacement):
            raise ValueError(f"{replacement!r} is invalid 'replacement' for {action} action")
        if action in ("labeldrop", "labelkeep") and (
            source_labels or target_label or modulus or separator != ";" or replacement != "$1"
        ):
            raise ValueError(f"{action} action requires only 'regex', and no other fields")
        if action in ("keepequal", "dropequal") and (
            regex != DEFAULT_REGEX or modulus or separator != ";" or replacement != "$1"
        ):
            raise ValueError(
                f"{action} action requires only 'source_labels' and 'target_label', and no other fields"
            )
        return cls(
            source_labels=tuple(source_labels),
            separator=separator,
            regex=regex,
            modulus=modulus,
            target_label=target_label,
            replacement=replacement,
            action=action,
            compiled=compiled,
        )


def hashmod(value: str, modulus: int) -> int:
    """Prometheus's hashmod: the last 8 bytes of md5(value), big-endian, mod ``modulus``."""
    digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


def expand_template(template: str, match: GoMatch) -> str:
    """Go's ``Regexp.ExpandString``: unknown or unmatched groups expand to ""."""
    if "$" not in template:
        return template
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch != "$":
            j = template.find("$", i)
            j = n if j < 0 else j
            out.append(template[i:j])
            i = j
            continue
        if i + 1 < n and template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        name, end = _template_name(template, i + 1)
        if name is None:
            out.append("$")  # Go writes a lone "$" through unchanged
            i += 1
            continue
        out.append(_group(match, name))
        i = end
    return "".join(out)


def _template_name(template: str, start: int) -> tuple[str | None, int]:
    if start < len(template) and template[start] == "{":
        close = template.find("}", start)
        if close < 0:
            return None, start
        name = template[start + 1 : close]
        if not name or not _NAME_CHARS.fullmatch(name):
            return None, start
        return name, close + 1
    m = _NAME_CHARS.match(template, start)
    if m is None:
        return None, start
    return m.group(0), m.end()


def _group(match: GoMatch, name: str) -> str:
    try:
        value = match.group(int(name)) if name.isdigit() else match.group(name)
    except IndexError:  # no such group: Go expands it to nothing
        return ""
    return value or ""


def relabel(labels: Mapping[str, str], rules: Sequence[RelabelConfig]) -> dict[str, str] | None:
    """Apply ``rules`` in order; ``None`` means the label set was dropped.

    Labels set to an empty value are removed, as in Prometheus where an empty
    value means the label is absent.
    """
    lb = dict(labels)
    for rule in rules:
        val = rule.separator.join(lb.get(name, "") for name in rule.source_labels)
        action = rule.action
        regex = rule.compiled
        if action == "drop":
            if regex.matches(val):
                return None
        elif action == "keep":
            if not regex.matches(val):
                return None
        elif action == "dropequal":
            if lb.get(rule.target_label, "") == val:
                return None
        elif action == "keepequal":
            if lb.get(rule.target_label, "") != val:
                return None
        elif action == "replace":
            m = regex.fullmatch(val)
            if m is None:
                continue
            target = expand_template(rule.target_label, m)
            if not LABEL_NAME_RE.fullmatch(target):
                lb.pop(rule.target_label, None)
                continue
            res = expand_template(rule.replacement, m)
            if res:
                lb[target] = res
            else:
                lb.pop(target, None)
        elif action == "lowercase":
            _set(lb, rule.target_label, val.lower())
        elif action == "uppercase":
            _set(lb, rule.target_label, val.upper())
        elif action == "hashmod":
            lb[rule.target_label] = str(hashmod(val, rule.modulus))
        elif action == "labelmap":
            # Iterate over a snapshot: Prometheus matches names from before this rule.
            for name, value in sorted(lb.items()):
                m = regex.fullmatch(name)
                if m is not None:
                    _set(lb, expand_template(rule.replacement, m), value)
        elif action == "labeldrop":
            for name in [n for n in lb if regex.matches(n)]:
                del lb[name]
        elif action == "labelkeep":
            for name in [n for n in lb if not regex.matches(n)]:
                del lb[name]
    return lb


def _set(lb: dict[str, str], name: str, value: str) -> None:
    if value:
        lb[name] = value
    else:
        lb.pop(name, None)
