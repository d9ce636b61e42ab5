"""The notifier side by side with a real Prometheus 2.42 reading the same file:
``/api/v1/alertmanagers``, and the request an alert becomes."""

from __future__ import annotations

import datetime
import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from metricslib.collector.config.config import load_config
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.notifier.manager import NotifierManager
from tests.collector.notifier.test_transport import _Handler, server
from tests.helpers import free_port, http_get, require_tool, running

pytestmark = pytest.mark.integration

CONFIG = """\
global:
  external_labels: {replica: a}
alerting:
  alert_relabel_configs:
  - action: labeldrop
    regex: replica
  alertmanagers:
  - static_configs:
    - targets: ['127.0.0.1:9093', '127.0.0.1:9093', '127.0.0.1:9094']
      labels: {dc: one}
  - scheme: https
    path_prefix: /am//x/
    api_version: v1
    timeout: 3s
    file_sd_configs:
    - files: [ams/*.json]
    relabel_configs:
    - source_labels: [__address__]
      regex: '10\\..*'
      action: drop
    - source_labels: [role]
      regex: plain
      target_label: __scheme__
      replacement: http
    - source_labels: [__address__]
      regex: 'rewrite:(.*)'
      target_label: __address__
      replacement: 127.0.0.2:${1}
  - path_prefix: custom
    static_configs:
    - targets: ['127.0.0.3:9093']
    relabel_configs:
    - target_label: __alerts_path__
      replacement: /elsewhere/api/v2/alerts
"""
FILE_SD = [
    {"targets": ["10.0.0.1:9093", "am-b:9093", "rewrite:9095"]},
    {"targets": ["am-c:9093"], "labels": {"role": "plain"}},
]


def normalised(data: dict[str, Any]) -> dict[str, list[str]]:
    return {key: sorted(item["url"] for item in value) for key, value in data.items()}


def test_alertmanagers_match_prometheus(tmp_path: Path) -> None:
    prometheus = require_tool("prometheus", "prometheus")
    (tmp_path / "ams").mkdir()
    (tmp_path / "ams" / "a.json").write_text(json.dumps(FILE_SD))
    config = tmp_path / "prometheus.yml"
    config.write_text(textwrap.dedent(CONFIG))

    ours = NotifierManager(load_config(config))
    ours.start()
    try:
        mine = normalised(ours.alertmanagers())
    finally:
        ours.stop()

    port = free_port()
    cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom'}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60):
        deadline = time.monotonic() + 30
        theirs: dict[str, list[str]] = {}
        while time.monotonic() < deadline:  # Prometheus applies discovery updates every 5s
            _, _, body = http_get(f"http://127.0.0.1:{port}/api/v1/alertmanagers")
            theirs = normalised(json.loads(body)["data"])
            if len(theirs["activeAlertmanagers"]) >= len(mine["activeAlertmanagers"]):
                break
            time.sleep(0.5)
    assert mine == theirs
    assert mine["activeAlertmanagers"] == sorted([
        "http://127.0.0.1:9093/api/v2/alerts", "http://127.0.0.1:9094/api/v2/alerts",
        "https://am-b:9093/am/x/api/v1/alerts", "https://127.0.0.2:9095/am/x/api/v1/alerts",
        "http://am-c:9093/am/x/api/v1/alerts", "http://127.0.0.3:9093/elsewhere/api/v2/alerts",
    ])


RULES = """\
groups:
- name: g
  rules:
  - alert: AlwaysFiring
    expr: vector(1)
    labels: {severity: page}
    annotations: {summary: "always firing", runbook: "docs/runbook.md"}
"""
SENDING = """\
global:
  evaluation_interval: 1s
  external_labels: {{cluster: eu, replica: a}}
rule_files: [rules.yml]
alerting:
  alert_relabel_configs:
  - action: labeldrop
    regex: replica
  - target_label: team
    replacement: sre
  alertmanagers:
  - path_prefix: /am
    static_configs:
    - targets: ['{receiver}']
"""


def _posts() -> list[tuple[str, dict[str, str], list[dict[str, Any]]]]:
    return [(path, headers, json.loads(body)) for path, headers, body in list(_Handler.received)]


def _times(alert: dict[str, Any]) -> dict[str, Any]:
    out = dict(alert)
    for key in ("startsAt", "endsAt"):
        if key in out:
            out[key] = datetime.datetime.fromisoformat(out[key].replace("Z", "+00:00")).timestamp()
    return out


def test_request_matches_what_prometheus_sends(tmp_path: Path) -> None:
    prometheus = require_tool("prometheus", "prometheus")
    with server() as base:
        receiver = base.removeprefix("http://")
        config = tmp_path / "prometheus.yml"
        config.write_text(SENDING.format(receiver=receiver))
        (tmp_path / "rules.yml").write_text(RULES)
        port = free_port()
        cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom'}",
               f"--web.listen-address=127.0.0.1:{port}",
               "--rules.alert.resend-delay=1s"]  # its first send races discovery of the receiver
        with running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60):
            deadline = time.monotonic() + 60
            while not _Handler.received and time.monotonic() < deadline:
                time.sleep(0.2)
        assert _Handler.received, "Prometheus sent nothing"
        their_path, their_headers, (theirs,) = _posts()[0]

        # The same alert as the rule evaluator hands it over: before external labels and relabelling.
        times = _times(theirs)
        alert = Alert({"alertname": "AlwaysFiring", "severity": "page"}, theirs["annotations"],
                      times["startsAt"], times["endsAt"], theirs["generatorURL"])
        _Handler.received = []
        ours = NotifierManager(load_config(config))
        ours.start()
        try:
            ours.send([alert])
            deadline = time.monotonic() + 20
            while not _Handler.received and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            ours.stop()
        our_path, our_headers, (mine,) = _posts()[0]

    assert our_path == their_path == "/am/api/v2/alerts"
    assert our_headers["Content-Type"] == their_headers["Content-Type"] == "application/json"
    assert our_headers["User-Agent"].split("/")[0] == their_headers["User-Agent"].split("/")[0] == "Prometheus"
    assert mine["labels"] == theirs["labels"] == {"alertname": "AlwaysFiring", "severity": "page",
                                                  "cluster": "eu", "team": "sre"}
    assert set(mine) == set(theirs)
    assert _times(mine) == _times(theirs)
    assert mine["startsAt"][-1] == "Z" and len(mine["startsAt"]) == len("2026-01-01T00:00:00.000Z")
