"""The collector server's status endpoints wired to the live parts: runtimeinfo follows
reloads, status/tsdb reads the store, targets/metadata the scrape targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metricslib.collector.server import CollectorServer, ServerOptions
from metricslib.errors import ConfigError
from tests.helpers import http_get


def get(s: CollectorServer, path: str) -> Any:
    status, _, body = http_get(f"{s.url}{path}")
    assert status == 200, body
    return json.loads(body)["data"]


def test_runtimeinfo_keeps_the_config_time_when_a_reload_fails(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs: []\n")
    now = [1_750_000_000.0]
    s = CollectorServer(ServerOptions(config_file=str(config), data_dir=str(tmp_path / "data"), port=0,
                                      retention_ms=90 * 86_400_000), clock=lambda: now[0])
    s.start()
    try:
        info = get(s, "/api/v1/status/runtimeinfo")
        assert (info["reloadConfigSuccess"], info["lastConfigTime"]) == (True, "2025-06-15T15:06:40Z")
        assert info["storageRetention"] == "90d" and info["startTime"] == "2025-06-15T15:06:40Z"
        now[0] += 60
        config.write_text("scrape_configs: [\n")
        with pytest.raises(ConfigError):
            s.reload()
        info = get(s, "/api/v1/status/runtimeinfo")
        assert (info["reloadConfigSuccess"], info["lastConfigTime"]) == (False, "2025-06-15T15:06:40Z")
        now[0] += 60
        config.write_text("scrape_configs: []\n")
        s.reload()
        info = get(s, "/api/v1/status/runtimeinfo")
        assert (info["reloadConfigSuccess"], info["lastConfigTime"]) == (True, "2025-06-15T15:08:40Z")
        tsdb = get(s, "/api/v1/status/tsdb")
        assert tsdb["headStats"]["numSeries"] == 0 and tsdb["seriesCountByMetricName"] == []
        assert get(s, "/api/v1/targets/metadata") == []
    finally:
        s.stop()
