"""The request body Alertmanager's API v2 takes (``POST /api/v2/alerts``): a JSON list of alerts.

Each alert is ``labels``, ``annotations``, ``startsAt``, ``endsAt`` (left out
while unknown, so Alertmanager applies its ``resolve_timeout``) and
``generatorURL``, with times in RFC 3339 at millisecond precision in UTC as
Prometheus writes them. The same shape is what API v1 accepted.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from metricslib.collector.notifier.alert import Alert

__all__ = ["encode_alerts", "format_time"]


def format_time(unix_seconds: float) -> str:
    """``2024-05-01T10:00:00.123Z`` (Go's strfmt.DateTime, in UTC)."""
    moment = datetime.datetime.fromtimestamp(round(unix_seconds, 3), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _alert(alert: Alert) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": format_time(alert.starts_at),
    }
    if alert.ends_at is not None:
        out["endsAt"] = format_time(alert.ends_at)
    out["generatorURL"] = alert.generator_url
    return out


def encode_alerts(alerts: Sequence[Alert]) -> bytes:
    return json.dumps([_alert(a) for a in alerts], separators=(",", ":"), ensure_ascii=False).encode()
