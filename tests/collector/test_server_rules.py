"""The server wires the rules manager: alerts reach the ``notify`` callable it was given."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from metricslib.collector.notifier.alert import Alert
from metricslib.collector.server import CollectorServer, ServerOptions
from tests.helpers import free_port

pytestmark = pytest.mark.integration


def test_firing_alerts_are_handed_to_notify(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: n\n    interval: 1s\n    rules:\n"
        "      - alert: Always\n        expr: vector(1)\n        labels: {severity: info}\n"
        "        annotations: {summary: 'value {{ $value }}'}\n")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  external_labels: {site: a}\nrule_files: [rules.yml]\n")
    sent: list[Alert] = []
    port = free_port()
    server = CollectorServer(ServerOptions(str(config), data_dir=str(tmp_path / "data"), port=port),
                             notify=sent.extend)
    server.start()
    try:
        deadline = time.monotonic() + 20
        while not sent:
            assert time.monotonic() < deadline, "no alert was sent"
            time.sleep(0.1)
    finally:
        server.stop()
    alert = sent[0]
    # External labels are the notifier's to attach; the rule's own labels are here.
    assert alert.labels == {"alertname": "Always", "severity": "info"}
    assert alert.annotations == {"summary": "value 1"}
    assert alert.generator_url == f"http://127.0.0.1:{port}/graph?g0.expr=vector%281%29&g0.tab=1"
    assert alert.ends_at is not None and alert.ends_at > alert.starts_at
    assert [g.name for g in server.rules.groups()] == ["n"]
