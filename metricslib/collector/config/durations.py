"""Prometheus duration syntax: ``1d2h30m``, ``15s``, ``500ms``, ``1w``, ``1y``.

Units must appear largest first and at most once, as Prometheus requires, and
``0`` on its own is allowed. A year is 365 days and a week 7 days, as in
Prometheus. Values are :class:`Duration`, an ``int`` of milliseconds whose
``str()`` is the canonical Prometheus spelling (``90s`` → ``1m30s``).
"""

from __future__ import annotations

import re

__all__ = ["Duration", "format_duration", "parse_duration"]

_UNITS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
)
_PATTERN = re.compile("".join(rf"(?:(\d+){unit})?" for unit, _ in _UNITS))


class Duration(int):
    """Milliseconds, printed the way Prometheus prints durations."""

    @property
    def seconds(self) -> float:
        return int(self) / 1000.0

    def __str__(self) -> str:
        return format_duration(int(self))

    def __repr__(self) -> str:
        return f"Duration({format_duration(int(self))!r})"


def parse_duration(text: str) -> Duration:
    """Parse ``text``; raises ``ValueError`` naming the text when it is not a duration."""
    if text == "0":
        return Duration(0)
    match = _PATTERN.fullmatch(text) if text else None
    if match is None or not any(match.groups()):
        raise ValueError(
            f"not a valid duration string: {text!r} (use e.g. 15s, 1m30s, 500ms, 1d, 1w, 1y)"
        )
    total = 0
    for (_, factor), group in zip(_UNITS, match.groups(), strict=True):
        if group is not None:
            total += int(group) * factor
    if total > (2**63 - 1) // 1_000_000:  # Go stores durations as int64 nanoseconds
        raise ValueError(f"duration out of range: {text!r}")
    return Duration(total)


def format_duration(ms: int) -> str:
    if ms == 0:
        return "0s"
    parts = []
    rest = ms
    for unit, factor in _UNITS:
        count, rest = divmod(rest, factor)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
