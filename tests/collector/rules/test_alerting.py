"""Alerting rules: pending → firing → resolved, keep_firing_for, ALERTS series, restore."""

from __future__ import annotations

import pytest

from metricslib.collector.rules.alerting import (
    STATE_FIRING,
    STATE_INACTIVE,
    STATE_PENDING,
    AlertingRule,
)
from metricslib.collector.rules.recording import RuleEvalError
from metricslib.collector.rules.sending import alerts_to_send, generator_url
from metricslib.collector.rules.templates import ExpandRequest
from tests.collector.rules.fakes import ScriptedQuery, lbl, one_rule

MIN = 60_000
UP = lbl(__name__="up", job="api")


def expand(request: ExpandRequest) -> str:
    # A stand-in for the template engine: $labels.job and $value only.
    return request.text.replace("{{ $labels.job }}", request.labels.get("job", "")).replace(
        "{{ $value }}", repr(request.value))


def make(text: str = "- alert: Down\n  expr: up == 0\n  for: 2m\n  labels: {severity: page}\n"
         "  annotations: {summary: '{{ $labels.job }} is down ({{ $value }})'}") -> AlertingRule:
    return AlertingRule(one_rule(text), external_url="http://127.0.0.1:9090", expander=expand)


def states(rule: AlertingRule) -> list[str]:
    return [a.state for a in rule.active.values()]


def test_pending_then_firing_then_resolved_then_forgotten() -> None:
    rule = make()
    down = {t: [(UP, 0.0)] for t in (0, MIN, 2 * MIN)}
    query = ScriptedQuery(down)
    out = rule.eval(0, query)
    key = lbl(alertname="Down", job="api", severity="page")
    assert out == [
        ((("__name__", "ALERTS"), *key[:1], ("alertstate", "pending"), *key[1:]), 0, 1.0),
        ((("__name__", "ALERTS_FOR_STATE"), *key), 0, 0.0),
    ]
    assert rule.active[key].annotations == (("summary", "api is down (0.0)"),)
    rule.eval(MIN, query)
    assert states(rule) == [STATE_PENDING] and rule.state() == STATE_PENDING
    rule.eval(2 * MIN, query)
    assert states(rule) == [STATE_FIRING] and rule.active[key].fired_at_ms == 2 * MIN
    assert rule.eval(3 * MIN, query) == []  # resolved: no ALERTS sample
    assert states(rule) == [STATE_INACTIVE] and rule.active[key].resolved_at_ms == 3 * MIN
    assert rule.active_alerts() == []
    rule.eval(18 * MIN, query)
    assert states(rule) == [STATE_INACTIVE]  # kept 15 minutes
    rule.eval(18 * MIN + 1, query)
    assert rule.active == {}


def test_pending_alert_that_disappears_is_dropped() -> None:
    rule = make()
    rule.eval(0, ScriptedQuery({0: [(UP, 0.0)]}))
    rule.eval(MIN, ScriptedQuery())
    assert rule.active == {}


def test_keep_firing_for_holds_a_firing_alert() -> None:
    rule = make("- alert: Down\n  expr: up == 0\n  keep_firing_for: 2m")
    query = ScriptedQuery({0: [(UP, 0.0)]})
    rule.eval(0, query)
    assert states(rule) == [STATE_FIRING]  # for: 0 fires at once
    rule.eval(MIN, query)
    rule.eval(2 * MIN, query)
    (alert,) = rule.active.values()
    assert (alert.state, alert.keep_firing_since_ms) == (STATE_FIRING, MIN)
    rule.eval(3 * MIN, query)
    assert states(rule) == [STATE_INACTIVE]


def test_value_and_annotations_follow_the_latest_evaluation() -> None:
    rule = make()
    rule.eval(0, ScriptedQuery({0: [(UP, 0.0)]}))
    rule.eval(MIN, ScriptedQuery({MIN: [(UP, -1.0)]}))
    (alert,) = rule.active.values()
    assert (alert.value, alert.active_at_ms, alert.annotations[0][1]) == (-1.0, 0, "api is down (-1.0)")


def test_limit_drops_all_alerts() -> None:
    rule = make()
    two = ScriptedQuery({0: [(UP, 0.0), (lbl(__name__="up", job="db"), 0.0)]})
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 alerts"):
        rule.eval(0, two, limit=1)
    assert rule.active == {}


def test_not_restored_rule_writes_no_series() -> None:
    rule = make()
    rule.restored = False
    assert rule.eval(0, ScriptedQuery({0: [(UP, 0.0)]})) == []
    assert states(rule) == [STATE_PENDING]


def test_sending_follows_prometheus_resend_rules() -> None:
    rule = make("- alert: Down\n  expr: up == 0")
    query = ScriptedQuery({t: [(UP, 0.0)] for t in range(0, 3 * MIN, 15_000)})
    rule.eval(0, query)
    (sent,) = alerts_to_send(rule, 0, 15_000)
    assert (sent.starts_at, sent.ends_at) == (0.0, 240.0)  # 4 x resend delay ahead
    assert sent.labels == {"alertname": "Down", "job": "api"}
    assert sent.generator_url == "http://127.0.0.1:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    rule.eval(15_000, query)
    assert alerts_to_send(rule, 15_000, 15_000) == []  # within the resend delay
    rule.eval(75_000, query)
    assert len(alerts_to_send(rule, 75_000, 15_000)) == 1
    rule.eval(3 * MIN, ScriptedQuery())
    (resolved,) = alerts_to_send(rule, 3 * MIN, 15_000)
    assert resolved.ends_at == 180.0
    assert alerts_to_send(rule, 3 * MIN + 15_000, 15_000) == []  # resolution sent once


def test_generator_url_escapes_the_expression() -> None:
    assert generator_url("http://h:9/p/", 'rate(x{a="b"}[5m]) > 1') == (
        "http://h:9/p/graph?g0.expr=rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29+%3E+1&g0.tab=1")


def test_generator_url_and_query_show_the_expression_as_prometheus_2_42_does() -> None:
    rule = make("- alert: Join\n  expr: 'x{job=\"a\", instance=~\"b.*\"} * on(job) group_left sum by(job)(y) > 1e6'")
    # What 2.42 shows in /api/v1/rules and links from the alert: sorted matchers, "group_left ()", "1e+06".
    shown = 'x{instance=~"b.*",job="a"} * on (job) group_left () sum by (job) (y) > 1e+06'
    assert rule.query == shown
    query = ScriptedQuery({0: [(UP, 1.0)]})
    rule.eval(0, query)
    (sent,) = alerts_to_send(rule, 0, 15_000)
    assert sent.generator_url == generator_url("http://127.0.0.1:9090", shown)
    # The query that runs is the canonical text, which parses back to the same tree.
    assert query.calls == [('x{job="a", instance=~"b.*"} * on (job) group_left sum by (job) (y) > 1000000', 0)]


@pytest.mark.parametrize(("down_at", "active_at", "now", "expected_active", "expected_state"), [
    # firing when the server died: keeps activeAt and fires again at once
    (10 * MIN, 0, 12 * MIN, 0, STATE_FIRING),
    # 1m of 5m pending done, down 2m: the pending clock moves by the downtime
    (MIN, 0, 3 * MIN, 2 * MIN, STATE_PENDING),
])
def test_restore_for_state(down_at: int, active_at: int, now: int, expected_active: int,
                           expected_state: str) -> None:
    rule = make("- alert: Down\n  expr: up == 0\n  for: 5m")
    rule.restored = False
    rule.eval(now, ScriptedQuery({now: [(UP, 0.0)]}))
    key = lbl(alertname="Down", job="api")
    rule.restore({key: (down_at, active_at / 1000)}, now, 3600_000, grace_period_ms=0)
    alert = rule.active[key]
    assert (alert.active_at_ms, alert.state, rule.restored) == (expected_active, expected_state, True)


def test_restore_uses_the_grace_period() -> None:
    rule = make("- alert: Down\n  expr: up == 0\n  for: 20m")
    rule.eval(30 * MIN, ScriptedQuery({30 * MIN: [(UP, 0.0)]}))
    key = lbl(alertname="Down", job="api")
    # 15 of 20 minutes were done when it went down: 5m left < 10m grace.
    rule.restore({key: (15 * MIN, 0.0)}, 30 * MIN, 3600_000, grace_period_ms=10 * MIN)
    assert rule.active[key].active_at_ms == 30 * MIN + 10 * MIN - 20 * MIN


def test_short_for_is_not_restored() -> None:
    rule = make("- alert: Down\n  expr: up == 0\n  for: 5m")
    rule.eval(30 * MIN, ScriptedQuery({30 * MIN: [(UP, 0.0)]}))
    key = lbl(alertname="Down", job="api")
    rule.restore({key: (29 * MIN, 0.0)}, 30 * MIN, 3600_000, grace_period_ms=10 * MIN)
    assert rule.active[key].active_at_ms == 30 * MIN and rule.restored


def test_labels_templated_to_empty_are_dropped_and_can_collide() -> None:
    # team: '{{ $labels.job }}' is "" for a series without job: the label is dropped,
    # from the alert and its ALERTS series alike, as a recording rule drops it.
    rule = make("- alert: Down\n  expr: up == 0\n  labels: {team: '{{ $labels.job }}', instance: ''}")
    out = rule.eval(0, ScriptedQuery({0: [(lbl(__name__="up", instance="a"), 0.0)]}))
    key = lbl(alertname="Down")
    assert list(rule.active) == [key]
    assert [labels for labels, _, _ in out] == [
        lbl(__name__="ALERTS", alertname="Down", alertstate="firing"),
        lbl(__name__="ALERTS_FOR_STATE", alertname="Down"),
    ]
    two = ScriptedQuery({0: [(lbl(__name__="up", instance="a"), 0.0), (lbl(__name__="up", instance="b"), 0.0)]})
    with pytest.raises(RuleEvalError, match="same labelset after applying alert labels"):
        make("- alert: Down\n  expr: up == 0\n  labels: {instance: ''}").eval(0, two)
