"""``/api/v1/rules`` and ``/api/v1/alerts`` data in Prometheus's JSON shape.

Times are RFC 3339 in UTC with Go's nanosecond trimming (a rule never
evaluated shows Go's zero time), durations are float seconds, an alert's
value is Go's ``%e`` shortest form (``"1e+00"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from metricslib.collector.model.value_text import go_float_e
from metricslib.collector.rules.alerting import ActiveAlert, AlertingRule
from metricslib.collector.rules.group import Group

__all__ = ["RuleFilter", "alert_json", "alerts_data", "go_float_e", "go_number", "go_time", "rules_data"]

_ZERO_TIME = "0001-01-01T00:00:00Z"


def go_time(unix_s: float) -> str:
    """Go's RFC3339Nano for a UTC time (0 = Go's zero time)."""
    if unix_s == 0:
        return _ZERO_TIME
    ns = round(unix_s * 1e6) * 1000  # a float of Unix seconds holds microseconds, not nanoseconds
    seconds, frac = divmod(ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def go_number(value: float) -> float | int:
    """A float as Go's JSON writes it: 2.0 is ``2``."""
    return int(value) if value.is_integer() else value


def alert_json(alert: ActiveAlert) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": alert.state,
        "activeAt": go_time(alert.active_at_ms / 1000),
    }
    if alert.keep_firing_since_ms:
        out["keepFiringSince"] = go_time(alert.keep_firing_since_ms / 1000)
    out["value"] = go_float_e(alert.value)
    return out


class RuleFilter:
    """The request's ``type``, ``rule_name[]``, ``rule_group[]`` and ``file[]``."""

    def __init__(self, type_: str | None, names: Sequence[str] = (), groups: Sequence[str] = (),
                 files: Sequence[str] = ()) -> None:
        kind = (type_ or "").lower()
        if kind not in ("", "alert", "record"):
            raise ValueError(f'invalid parameter "type": not supported value "{type_}"')
        self.alerts = kind in ("", "alert")
        self.records = kind in ("", "record")
        self.names, self.groups, self.files = set(names), set(groups), set(files)
        self.active = bool(kind or names or groups or files)


def _rule_json(rule: Any) -> dict[str, Any]:
    status = rule.status
    if isinstance(rule, AlertingRule):
        out: dict[str, Any] = {
            "state": rule.state(),
            "name": rule.name,
            "query": rule.query,
            "duration": go_number(rule.hold_ms / 1000),
            "keepFiringFor": go_number(rule.keep_firing_for_ms / 1000),
            "labels": dict(sorted(rule.labels.items())),
            "annotations": dict(sorted(rule.annotations.items())),
            "alerts": [alert_json(a) for a in rule.active_alerts()],
            "health": status.health,
        }
    else:
        out = {"name": rule.name, "query": rule.query}
        if rule.labels:
            out["labels"] = dict(sorted(rule.labels.items()))
        out["health"] = status.health
    if status.last_error:
        out["lastError"] = status.last_error
    out["evaluationTime"] = go_number(status.evaluation_seconds)
    out["lastEvaluation"] = go_time(status.last_evaluation_s)
    out["type"] = rule.kind
    return out


def rules_data(groups: Sequence[Group], wanted: RuleFilter) -> dict[str, Any]:
    out = []
    for group in groups:
        if (wanted.groups and group.name not in wanted.groups) or (wanted.files and group.file not in wanted.files):
            continue
        with group.lock:  # not half-way through an evaluation
            rules = [
                _rule_json(rule) for rule in group.rules
                if (wanted.alerts if isinstance(rule, AlertingRule) else wanted.records)
                and (not wanted.names or rule.name in wanted.names)
            ]
        if wanted.active and not rules:
            continue  # everything in it was filtered out
        out.append({
            "name": group.name,
            "file": group.file,
            "rules": rules,
            "interval": go_number(group.interval_ms / 1000),
            "limit": group.limit,
            "evaluationTime": go_number(group.stats.last_duration_s),
            "lastEvaluation": go_time(group.stats.last_evaluation_wall_s),
        })
    return {"groups": out}


def alerts_data(groups: Sequence[Group]) -> dict[str, Any]:
    alerts = []
    for group in groups:
        with group.lock:
            alerts += [alert_json(a) for r in group.alerting_rules() for a in r.active_alerts()]
    return {"alerts": alerts}
