"""Go's time.Time and time.Duration as templates print them (``toTime``, ``humanizeTimestamp``, ``toDuration``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metricslib.collector.template.functions import GoFunc
from metricslib.collector.template.values import GoStringer

__all__ = ["GoDuration", "GoTime", "duration_string"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class GoTime(GoStringer):
    """A UTC instant with millisecond precision (Prometheus's ``model.Time``), printed as Go's ``Time.String()``.

    Templates can call the common ``time.Time`` methods on it: ``Unix``,
    ``UnixMilli``, ``UnixNano``, ``UTC``, ``Year``, ``Month``, ``Day``,
    ``Hour``, ``Minute``, ``Second``, ``YearDay``, ``Weekday``, ``String``
    and ``Format`` with a Go layout (``"2006-01-02 15:04:05"``).
    """

    go_type_name = "*time.Time"

    def __init__(self, ms: int) -> None:
        self.ms = ms
        when = self._datetime()
        self.go_methods: dict[str, GoFunc] = {
            "Unix": GoFunc(lambda: self.ms // 1000),
            "UnixMilli": GoFunc(lambda: self.ms),
            "UnixNano": GoFunc(lambda: self.ms * 1_000_000),
            "UTC": GoFunc(lambda: self),
            "String": GoFunc(self.go_string),
            "Format": GoFunc(self.format, ("string",)),
        }
        if when is not None:
            self.go_methods.update({
                "Year": GoFunc(lambda: when.year),
                "Month": GoFunc(lambda: _Named(when.month, _MONTHS[when.month - 1], "time.Month")),
                "Day": GoFunc(lambda: when.day),
                "Hour": GoFunc(lambda: when.hour),
                "Minute": GoFunc(lambda: when.minute),
                "Second": GoFunc(lambda: when.second),
                "YearDay": GoFunc(lambda: when.timetuple().tm_yday),
                "Weekday": GoFunc(lambda: _Named((when.weekday() + 1) % 7, _DAYS[(when.weekday() + 1) % 7], "time.Weekday")),
            })  # fmt: skip

    def _datetime(self) -> dt.datetime | None:
        try:
            return _EPOCH + dt.timedelta(milliseconds=self.ms)
        except OverflowError:
            return None

    def go_string(self) -> str:
        return self.format("2006-01-02 15:04:05.999999999 -0700 MST")

    def format(self, layout: str) -> str:
        """Go's ``Time.Format``: the reference time Mon Jan 2 15:04:05 MST 2006 names each field."""
        when = self._datetime()
        if when is None:
            return f"{self.ms}ms since 1970-01-01 00:00:00 +0000 UTC"
        return _format(when, self.ms % 1000 * 1_000_000, layout)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other.ms == self.ms

    def __hash__(self) -> int:
        return hash(self.ms)


class _Named(int, GoStringer):
    """A Go ``time.Month`` or ``time.Weekday``: an integer that prints as its name."""

    name: str
    go_type_name: str

    def __new__(cls, value: int, name: str, type_name: str) -> _Named:
        obj = super().__new__(cls, value)
        obj.name = name
        obj.go_type_name = type_name
        return obj

    def go_string(self) -> str:
        return self.name


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]  # fmt: skip
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
# Go layout elements, longest first where one is a prefix of another (as Go's nextStdChunk reads them).
_ZONES = (
    "-07:00:00",
    "-070000",
    "-07:00",
    "-0700",
    "-07",
    "Z07:00:00",
    "Z070000",
    "Z07:00",
    "Z0700",
    "Z07",
)
_ELEMENTS = (
    "January", "Jan", "Monday", "Mon", "MST", "2006", "002", "__2", "_2", "01", "02", "03", "04", "05", "06",
    "15", "1", "2", "3", "4", "5", "PM", "pm", *_ZONES,
)  # fmt: skip


def _format(when: dt.datetime, nanos: int, layout: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(layout):
        ch = layout[i]
        if ch in ".," and i + 1 < len(layout) and layout[i + 1] in "09":
            j = i + 1
            while j < len(layout) and layout[j] == layout[i + 1]:
                j += 1
            if j >= len(layout) or not layout[j].isdigit():
                digits = f"{nanos:09d}"[: j - i - 1]
                if layout[i + 1] == "9":
                    digits = digits.rstrip("0")
                    out.append(ch + digits if digits else "")
                else:
                    out.append(ch + digits)
                i = j
                continue
        element = next((e for e in _ELEMENTS if layout.startswith(e, i)), None)
        if element is None or (
            element in ("Jan", "Mon")
            and layout[i + 3 : i + 4].islower()
            and not layout.startswith(("January", "Monday"), i)
        ):
            out.append(ch)
            i += 1
            continue
        out.append(_element(when, element))
        i += len(element)
    return "".join(out)


def _element(when: dt.datetime, element: str) -> str:
    hour12 = when.hour % 12 or 12
    values = {
        "January": _MONTHS[when.month - 1], "Jan": _MONTHS[when.month - 1][:3],
        "Monday": _DAYS[(when.weekday() + 1) % 7], "Mon": _DAYS[(when.weekday() + 1) % 7][:3], "MST": "UTC",
        "2006": f"{when.year:04d}", "06": f"{when.year % 100:02d}", "002": f"{when.timetuple().tm_yday:03d}",
        "__2": f"{when.timetuple().tm_yday:>3d}", "_2": f"{when.day:>2d}", "01": f"{when.month:02d}",
        "02": f"{when.day:02d}", "03": f"{hour12:02d}", "04": f"{when.minute:02d}", "05": f"{when.second:02d}",
        "15": f"{when.hour:02d}", "1": str(when.month), "2": str(when.day), "3": str(hour12),
        "4": str(when.minute), "5": str(when.second), "PM": "PM" if when.hour >= 12 else "AM",
        "pm": "pm" if when.hour >= 12 else "am",
    }  # fmt: skip
    if element in values:
        return values[element]
    if element.startswith("Z"):
        return "Z"  # always UTC
    return {"-07": "+00", "-0700": "+0000", "-07:00": "+00:00"}.get(
        element, "+00:00:00" if ":" in element else "+000000"
    )


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
