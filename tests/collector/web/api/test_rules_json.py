"""/api/v1/rules and /api/v1/alerts: Prometheus's shape, filters and Go's time and float text."""

from __future__ import annotations

import json

import pytest

from metricslib.collector.rules.alerting import AlertingRule
from metricslib.collector.rules.group import Group
from metricslib.collector.rules.recording import RecordingRule
from metricslib.collector.web.api.rules_json import go_float_e, go_time
from metricslib.collector.web.api.v1 import PrometheusAPI, Request
from tests.collector.fakes import RecordingEngine, sample_querier, simple_selector
from tests.collector.rules.fakes import ScriptedQuery, lbl, one_rule


def groups() -> list[Group]:
    record = RecordingRule(one_rule("- record: job:up:sum\n  expr: sum by (job) (up)\n  labels: {a: b}"))
    alert = AlertingRule(one_rule("- alert: Down\n  expr: up == 0\n  for: 1m\n  labels: {severity: page}\n"
                                  "  annotations: {summary: down}"))
    other = RecordingRule(one_rule("- record: other\n  expr: up"))
    g = Group("g", "/r/a.yml", [record, alert], 30_000, wall=lambda: 1700000000.25)
    h = Group("h", "/r/b.yml", [other], 60_000)
    g.eval(1_700_000_000_000, ScriptedQuery({1_700_000_000_000: [(lbl(__name__="up", job="api"), 0.0)]}),
           _NullAppender)
    return [g, h]


class _NullAppender:
    def append(self, labels: object, t_ms: int, value: float) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


def api() -> PrometheusAPI:
    gs = groups()
    return PrometheusAPI(engine_factory=lambda t: RecordingEngine(), querier_factory=sample_querier,
                         parse_selector=simple_selector, rule_groups=lambda: gs)


def get(path: str, **params: list[str]) -> tuple[int, dict]:
    resp = api().handle(Request("GET", path, params))
    return resp.status, json.loads(resp.body)


def test_rules_shape() -> None:
    status, body = get("/api/v1/rules")
    assert status == 200
    g, h = body["data"]["groups"]
    assert {k: g[k] for k in ("name", "file", "interval", "limit", "lastEvaluation")} == {
        "name": "g", "file": "/r/a.yml", "interval": 30, "limit": 0, "lastEvaluation": "2023-11-14T22:13:20.25Z"}
    record, alert = g["rules"]
    assert record == {"name": "job:up:sum", "query": "sum by (job) (up)", "labels": {"a": "b"}, "health": "ok",
                      "evaluationTime": record["evaluationTime"], "lastEvaluation": "2023-11-14T22:13:20.25Z",
                      "type": "recording"}
    assert alert["state"] == "pending" and alert["duration"] == 60 and alert["keepFiringFor"] == 0
    assert alert["alerts"] == [{"labels": {"alertname": "Down", "job": "api", "severity": "page"},
                                "annotations": {"summary": "down"}, "state": "pending",
                                "activeAt": "2023-11-14T22:13:20Z", "value": "0e+00"}]
    assert "labels" not in h["rules"][0] and h["lastEvaluation"] == "0001-01-01T00:00:00Z"
    assert h["rules"][0]["health"] == "unknown"


@pytest.mark.parametrize(("params", "expected"), [
    ({"type": ["alert"]}, [("g", ["Down"])]),
    ({"type": ["record"]}, [("g", ["job:up:sum"]), ("h", ["other"])]),
    ({"rule_name[]": ["other", "Down"]}, [("g", ["Down"]), ("h", ["other"])]),
    ({"rule_group[]": ["h"]}, [("h", ["other"])]),
    ({"file[]": ["/r/a.yml"]}, [("g", ["job:up:sum", "Down"])]),
])
def test_rules_filters(params: dict[str, list[str]], expected: list[tuple[str, list[str]]]) -> None:
    _, body = get("/api/v1/rules", **params)
    assert [(g["name"], [r["name"] for r in g["rules"]]) for g in body["data"]["groups"]] == expected


def test_bad_type_is_bad_data() -> None:
    status, body = get("/api/v1/rules", type=["both"])
    assert (status, body["errorType"]) == (400, "bad_data") and 'not supported value "both"' in body["error"]


def test_alerts_lists_pending_and_firing_alerts() -> None:
    _, body = get("/api/v1/alerts")
    assert [a["labels"]["alertname"] for a in body["data"]["alerts"]] == ["Down"]


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0e+00"), (1.0, "1e+00"), (1234.5, "1.2345e+03"), (0.1, "1e-01"), (-2.5e-300, "-2.5e-300"),
    (float("nan"), "NaN"), (float("inf"), "+Inf"), (1 / 3, "3.333333333333333e-01"),
])
def test_go_float_e(value: float, text: str) -> None:
    assert go_float_e(value) == text


def test_go_time() -> None:
    assert go_time(1.5) == "1970-01-01T00:00:01.5Z"
    assert go_time(1700000000) == "2023-11-14T22:13:20Z"
