"""``/api/v1/alertmanagers`` side by side with a real Prometheus 2.42 reading the same file."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from metricslib.collector.config.config import load_config
from metricslib.collector.notifier.manager import NotifierManager
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
