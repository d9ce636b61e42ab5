"""Which alerts go to Alertmanager after an evaluation, in the notifier's ``Alert`` shape.

Prometheus's rules: pending alerts are never sent; firing ones are sent when
first firing and again every resend delay (default 1m); a resolved alert is
sent once with ``endsAt`` its resolution time. A firing alert's ``endsAt`` is
four resend delays (or evaluation intervals, whichever is longer) ahead, so
Alertmanager resolves it by itself if this server stops sending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote_plus

from metricslib.collector.notifier.alert import Alert
from metricslib.collector.rules.alerting import AlertingRule

__all__ = ["DEFAULT_RESEND_DELAY_MS", "NotifyFunc", "alerts_to_send", "generator_url"]

DEFAULT_RESEND_DELAY_MS = 60_000
#: What the server passes in: hands a batch of alerts to the notifier.
NotifyFunc = Callable[[Sequence[Alert]], None]


def generator_url(external_url: str, expr: str) -> str:
    """A link to the expression in our UI's table view (Prometheus's TableLinkForExpression)."""
    return f"{external_url.rstrip('/')}/graph?g0.expr={quote_plus(expr)}&g0.tab=1"


def alerts_to_send(
    rule: AlertingRule, t_ms: int, interval_ms: int, resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS
) -> list[Alert]:
    """The alerts due now; marks them sent."""
    out = []
    url = generator_url(rule.external_url, rule.query)
    for alert in rule.active.values():
        if not alert.needs_sending(t_ms, resend_delay_ms):
            continue
        alert.last_sent_at_ms = t_ms
        alert.valid_until_ms = t_ms + 4 * max(resend_delay_ms, interval_ms)
        ends = alert.resolved_at_ms or alert.valid_until_ms
        out.append(Alert(
            labels=dict(alert.labels), annotations=dict(alert.annotations),
            starts_at=alert.fired_at_ms / 1000, ends_at=ends / 1000, generator_url=url,
        ))
    return out
