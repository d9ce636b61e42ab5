"""Parsing the HTTP API's parameters the way Prometheus does.

Times are RFC 3339 or Unix seconds (float); durations are Prometheus
durations (``5m``, ``1h30m``) or float seconds. Errors are ``ValueError``
with a message naming the parameter, which the API turns into ``bad_data``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from metricslib.collector.config.durations import parse_duration

__all__ = ["MAX_TIME_MS", "MIN_TIME_MS", "parse_duration_ms", "parse_time_ms"]

# Clients such as Grafana and the Go client send Prometheus's min/max time
# sentinels for "unbounded"; clamp instead of overflowing.
MIN_TIME_MS = -(2**62) // 1000
MAX_TIME_MS = 2**62 // 1000

def parse_duration_ms(text: str, param: str = "duration") -> int:
    """A float number of seconds or a Prometheus duration, in milliseconds."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            return int(parse_duration(text))
        except ValueError:
            raise ValueError(
                f'invalid parameter "{param}": cannot parse "{text}" to a valid duration'
            ) from None
    if not math.isfinite(seconds):
        raise ValueError(f'invalid parameter "{param}": cannot parse "{text}" to a valid duration')
    return round(seconds * 1000)


def parse_time_ms(text: str, param: str = "time") -> int:
    """Unix seconds (float) or RFC 3339, in milliseconds, clamped to Prometheus's range."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = _parse_rfc3339(text, param)
    if math.isnan(seconds):
        raise ValueError(f'invalid parameter "{param}": cannot parse "{text}" to a valid timestamp')
    ms = seconds * 1000
    if ms <= MIN_TIME_MS:
        return MIN_TIME_MS
    if ms >= MAX_TIME_MS:
        return MAX_TIME_MS
    return round(ms)


def _parse_rfc3339(text: str, param: str) -> float:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python's fromisoformat takes at most microseconds; Go clients send nanoseconds.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Years outside 1..9999 (Prometheus's min/max sentinels) cannot be parsed: clamp.
        year = re.match(r"^(-?\d+)-", text.strip())
        if year is not None and not 1 <= int(year.group(1)) <= 9999:
            return -math.inf if int(year.group(1)) < 1 else math.inf
        raise ValueError(
            f'invalid parameter "{param}": cannot parse "{text}" to a valid timestamp'
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
