"""Go's time.Time and time.Duration as templates print them (``toTime``, ``humanizeTimestamp``, ``toDuration``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metricslib.collector.template.functions import GoFunc
from metricslib.collector.template.values import GoStringer

__all__ = ["GoDuration", "GoTime", "duration_string"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class GoTime(GoStringer):
    """A UTC instant with millisecond precision (Prometheus's ``model.Time``), printed as Go's ``Time.String()``."""

    go_type_name = "*time.Time"

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.go_methods = {
            "Unix": GoFunc(lambda: self.ms // 1000),
            "UnixMilli": GoFunc(lambda: self.ms),
            "UTC": GoFunc(lambda: self),
            "String": GoFunc(self.go_string),
        }

    def go_string(self) -> str:
        try:
            when = _EPOCH + dt.timedelta(milliseconds=self.ms)
        except OverflowError:
            return f"{self.ms}ms since 1970-01-01 00:00:00 +0000 UTC"
        text = when.strftime("%Y-%m-%d %H:%M:%S")
        if len(text.split("-", 1)[0]) < 4:
            text = text.zfill(len(text) + 4 - len(text.split("-", 1)[0]))
        frac = self.ms % 1000
        if frac:
            text += "." + f"{frac:03d}".rstrip("0")
        return text + " +0000 UTC"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other.ms == self.ms

    def __hash__(self) -> int:
        return hash(self.ms)


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    text = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


def duration_string(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``1h1m1s``, ``1.5s``, ``250ms``, ``0s``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_fraction(u, 3)}µs"
        return f"{sign}{_fraction(u, 6)}ms"
    text = _fraction(u % 60_000_000_000, 9) + "s"
    minutes = u // 60_000_000_000
    if minutes:
        text = f"{minutes % 60}m" + text
        hours = minutes // 60
        if hours:
            text = f"{hours}h" + text
    return sign + text


class GoDuration(GoStringer):
    """A ``*time.Duration`` in nanoseconds."""

    go_type_name = "*time.Duration"

    def __init__(self, ns: int) -> None:
        self.ns = ns
        self.go_methods: dict[str, Any] = {
            "Seconds": GoFunc(lambda: self.ns / 1e9),
            "Milliseconds": GoFunc(lambda: int(self.ns / 1_000_000)),
            "String": GoFunc(self.go_string),
        }

    def go_string(self) -> str:
        return duration_string(self.ns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(self.ns)
