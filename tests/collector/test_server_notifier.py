"""The collector server's notifier: built from the config, reloaded with it, on the API and /metrics."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.collector.notifier.alert import Alert
from metricslib.collector.server import CollectorServer, ServerOptions
from metricslib.errors import ConfigError
from tests.collector.notifier.test_transport import _Handler, server
from tests.helpers import http_get

CONFIG = """\
global:
  external_labels: {{cluster: eu}}
alerting:
  alertmanagers:
  - path_prefix: {prefix}
    static_configs:
    - targets: ['{address}']
"""


@pytest.fixture
def receiver() -> Iterator[str]:
    with server() as base:
        yield base.removeprefix("http://")


def started(tmp_path: Path, text: str) -> CollectorServer:
    config = tmp_path / "prometheus.yml"
    config.write_text(textwrap.dedent(text))
    s = CollectorServer(ServerOptions(config_file=str(config), data_dir=str(tmp_path / "data"), port=0))
    s.start()
    return s


def api_alertmanagers(s: CollectorServer) -> dict[str, object]:
    status, _, body = http_get(f"{s.url}/api/v1/alertmanagers")
    assert status == 200
    data: dict[str, object] = json.loads(body)["data"]
    return data


def test_server_sends_reloads_and_reports_the_notifier(tmp_path: Path, receiver: str) -> None:
    s = started(tmp_path, CONFIG.format(prefix="/", address=receiver))
    try:
        assert api_alertmanagers(s) == {"activeAlertmanagers": [{"url": f"http://{receiver}/api/v2/alerts"}],
                                        "droppedAlertmanagers": []}
        s.notifier.send([Alert({"alertname": "A"}, {}, time.time())])
        deadline = time.monotonic() + 20
        while not _Handler.received and time.monotonic() < deadline:
            time.sleep(0.05)
        ((path, _, body),) = _Handler.received
        url = f"http://{receiver}/api/v2/alerts"
        while s.notifier.stats()[url].sent != 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # the receiver has the body before the sender has read the answer
        assert path == "/api/v2/alerts" and json.loads(body)[0]["labels"] == {"alertname": "A", "cluster": "eu"}

        config = tmp_path / "prometheus.yml"
        config.write_text(textwrap.dedent(CONFIG.format(prefix="/am", address=receiver)))
        s.reload()
        assert api_alertmanagers(s)["activeAlertmanagers"] == [{"url": f"http://{receiver}/am/api/v2/alerts"}]

        config.write_text("alerting:\n  alertmanagers:\n  - api_version: v9\n")
        with pytest.raises(ConfigError, match=r"alertmanagers\[0\]\.api_version"):
            s.reload()
        assert api_alertmanagers(s)["activeAlertmanagers"] == [{"url": f"http://{receiver}/am/api/v2/alerts"}]

        _, _, dumped = http_get(f"{s.url}/api/v1/status/config")
        assert "path_prefix: /am" in json.loads(dumped)["data"]["yaml"]

        _, _, metrics = http_get(f"{s.url}/metrics")
        text = metrics.decode()
        assert f'prometheus_notifications_sent_total{{alertmanager="http://{receiver}/api/v2/alerts"}} 1' in text
        assert "prometheus_notifications_alertmanagers_discovered 1" in text
        assert "prometheus_notifications_queue_capacity 10000" in text
    finally:
        s.stop()
