"""An alerting rule: one alert per result series, moving inactive → pending → firing.

Prometheus's semantics throughout: an alert is pending from the first
evaluation its series appears (``activeAt``), firing once it has been active
for ``for``; when its series disappears it resolves (unless
``keep_firing_for`` holds it firing a while longer) and is kept, inactive,
for 15 minutes so Alertmanager hears it resolved. Each evaluation writes
``ALERTS{alertstate=...} 1`` and ``ALERTS_FOR_STATE`` (the ``activeAt`` in
Unix seconds, what a restarted server restores ``for`` from).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.model.labels import METRIC_NAME
from metricslib.collector.rules.recording import RuleEvalError
from metricslib.collector.rules.rule import (
    QueryFunc,
    RuleStatus,
    Sample,
    canonical_expr,
    shown_expr,
)
from metricslib.collector.rules.rulefmt import Rule
from metricslib.collector.rules.templates import Expander, ExpandRequest, default_expander

__all__ = [
    "RESOLVED_RETENTION_MS",
    "STATE_FIRING",
    "STATE_INACTIVE",
    "STATE_PENDING",
    "ActiveAlert",
    "AlertingRule",
]

STATE_INACTIVE, STATE_PENDING, STATE_FIRING = "inactive", "pending", "firing"
RESOLVED_RETENTION_MS = 15 * 60_000
ALERT_NAME = "alertname"
ALERT_STATE = "alertstate"


@dataclass
class ActiveAlert:
    """One alert's state; times are Unix milliseconds, 0 = not set."""

    labels: Labels
    annotations: tuple[tuple[str, str], ...]
    value: float
    active_at_ms: int
    state: str = STATE_PENDING
    fired_at_ms: int = 0
    resolved_at_ms: int = 0
    last_sent_at_ms: int | None = None  # never sent
    valid_until_ms: int = 0
    keep_firing_since_ms: int = 0

    def needs_sending(self, t_ms: int, resend_delay_ms: int) -> bool:
        """Prometheus's rule: firing alerts every resend delay, a resolution once."""
        if self.state == STATE_PENDING:
            return False
        if self.last_sent_at_ms is None or self.resolved_at_ms > self.last_sent_at_ms:
            return True
        return self.last_sent_at_ms + resend_delay_ms < t_ms


@dataclass
class AlertingRule:
    """``alert: NAME``; ``active`` maps each alert's label set to its state."""

    rule: Rule
    group_labels: Mapping[str, str] = field(default_factory=dict)
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    expander: Expander = default_expander
    #: False until for-state was restored (or needs no restoring): no ALERTS written before.
    restored: bool = True
    kind = "alerting"

    def __post_init__(self) -> None:
        self.name = self.rule.alert
        self.query = shown_expr(self.rule.expr)  # shown in the API and linked from alerts
        self.expr = canonical_expr(self.rule.expr)  # run
        self.hold_ms = self.rule.for_ms
        self.keep_firing_for_ms = self.rule.keep_firing_for_ms
        self.labels: dict[str, str] = {**self.group_labels, **dict(self.rule.labels)}
        self.annotations: dict[str, str] = dict(self.rule.annotations)
        self.active: dict[Labels, ActiveAlert] = {}
        self.status = RuleStatus()

    def same_definition(self, other: object) -> bool:
        """Whether ``other`` is this rule unchanged, so its alerts may carry over a reload."""
        return isinstance(other, AlertingRule) and (
            self.name, self.query, self.hold_ms, self.keep_firing_for_ms, self.labels, self.annotations
        ) == (other.name, other.query, other.hold_ms, other.keep_firing_for_ms, other.labels, other.annotations)

    def state(self) -> str:
        """The rule's state: its most severe alert's."""
        states = {a.state for a in self.active.values()}
        for state in (STATE_FIRING, STATE_PENDING):
            if state in states:
                return state
        return STATE_INACTIVE

    def active_alerts(self) -> list[ActiveAlert]:
        """Pending and firing alerts (not the resolved ones kept for Alertmanager)."""
        return [a for a in self.active.values() if a.state != STATE_INACTIVE]

    def _expand(self, text: str, labels: Mapping[str, str], value: float, t_ms: int, query: QueryFunc) -> str:
        def template_query(expr: str) -> list[tuple[Mapping[str, str], float]]:
            return [(dict(lbls), v) for lbls, v in query(expr, t_ms)]

        return self.expander(ExpandRequest(
            name="__alert_" + self.name, text=text, labels=labels, external_labels=self.external_labels,
            external_url=self.external_url, value=value, timestamp_s=t_ms / 1000, query=template_query,
        ))

    def eval(self, t_ms: int, query: QueryFunc, limit: int = 0) -> list[Sample]:
        fresh: dict[Labels, ActiveAlert] = {}
        for series, value in query(self.expr, t_ms):
            plain = {k: v for k, v in series if k != METRIC_NAME}
            labels = dict(plain)
            for name, text in self.labels.items():
                labels[name] = self._expand(text, plain, value, t_ms, query)
            labels[ALERT_NAME] = self.name
            annotations = tuple(sorted(
                (name, self._expand(text, plain, value, t_ms, query)) for name, text in self.annotations.items()
            ))
            # Labels templated to "" are dropped, as in recording rules and Prometheus.
            key = make_labels(labels)
            if key in fresh:
                raise RuleEvalError("vector contains metrics with the same labelset after applying alert labels")
            fresh[key] = ActiveAlert(key, annotations, value, active_at_ms=t_ms)
        for key, alert in fresh.items():
            current = self.active.get(key)
            if current is not None and current.state != STATE_INACTIVE:
                current.value, current.annotations = alert.value, alert.annotations
            else:
                self.active[key] = alert
        out: list[Sample] = []
        pending_or_firing = 0
        for key, alert in list(self.active.items()):
            if key not in fresh:
                keep_firing = False
                if alert.state == STATE_FIRING and self.keep_firing_for_ms > 0:
                    if not alert.keep_firing_since_ms:
                        alert.keep_firing_since_ms = t_ms
                    keep_firing = t_ms - alert.keep_firing_since_ms < self.keep_firing_for_ms
                if alert.state == STATE_PENDING or (
                    alert.resolved_at_ms and t_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS
                ):
                    del self.active[key]
                if alert.state != STATE_INACTIVE and not keep_firing:
                    alert.state = STATE_INACTIVE
                    alert.resolved_at_ms = t_ms
                if not keep_firing:
                    continue
            else:
                alert.keep_firing_since_ms = 0
            pending_or_firing += 1
            if alert.state == STATE_PENDING and t_ms - alert.active_at_ms >= self.hold_ms:
                alert.state = STATE_FIRING
                alert.fired_at_ms = t_ms
            if self.restored:
                out.append((self._series("ALERTS", alert, alert.state), t_ms, 1.0))
                out.append((self._series("ALERTS_FOR_STATE", alert, None), t_ms, float(alert.active_at_ms // 1000)))
        if 0 < limit < pending_or_firing:
            self.active = {}
            raise RuleEvalError(f"exceeded limit of {limit} with {pending_or_firing} alerts")
        return out

    @staticmethod
    def _series(name: str, alert: ActiveAlert, state: str | None) -> Labels:
        pairs = dict(alert.labels)
        pairs[METRIC_NAME] = name
        if state is not None:
            pairs[ALERT_STATE] = state
        return make_labels(pairs)

    def restore(self, active_at_ms: Mapping[Labels, tuple[int, float]], t_ms: int,
                outage_tolerance_ms: int, grace_period_ms: int) -> None:
        """Restore ``for`` from ``ALERTS_FOR_STATE`` after a restart, as Prometheus does.

        ``active_at_ms`` maps an alert's labels to the last (sample time ms,
        value) of its ALERTS_FOR_STATE within the outage tolerance. An alert
        whose restored ``activeAt`` means it has already been active for ``for``
        fires now rather than being pending for another evaluation."""
        del outage_tolerance_ms  # the caller's query window already applies it
        if self.hold_ms < grace_period_ms:
            self.restored = True
            return
        for key, alert in self.active.items():
            found = active_at_ms.get(key)
            if found is None:
                continue
            down_at_ms = found[0] // 1000 * 1000
            restored_ms = int(found[1]) * 1000
            remaining = self.hold_ms - (down_at_ms - restored_ms)
            if remaining <= 0:
                pass  # it was firing when the server went down
            elif remaining < grace_period_ms:
                restored_ms = t_ms + grace_period_ms - self.hold_ms
            else:
                restored_ms += t_ms - down_at_ms
            alert.active_at_ms = restored_ms
            if alert.state == STATE_PENDING and t_ms - restored_ms >= self.hold_ms:
                alert.state = STATE_FIRING
                alert.fired_at_ms = t_ms
        self.restored = True

    def carry_over(self, old: AlertingRule) -> None:
        """Keep an unchanged rule's alerts across a reload."""
        self.active = {k: replace(a) for k, a in old.active.items()}
        self.status = old.status
        self.restored = old.restored
