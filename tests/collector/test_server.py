"""`metricslib collector` end to end: real processes on 127.0.0.1, stopped by PID.

Two replicas of an app instrumented with the SDK are scraped; the scenario
query answers; reloads (SIGHUP and POST) keep a good config and refuse a bad
one; samples survive a restart; the collector exposes its own metrics.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PYTHON, free_port, http_get, running

pytestmark = pytest.mark.integration

APP = textwrap.dedent(
    """
    import sys, time
    from metricslib import Counter, Registry
    from metricslib.serve import start_http_server
    registry = Registry(default_labels={"hostname": "box"})
    requests = Counter("image_gallery_requests", "Requests.", ["code"], registry=registry)
    start_http_server(int(sys.argv[1]), registry=registry)
    while True:
        requests.labels("200").inc()
        requests.labels("404").inc()
        time.sleep(0.2)
    """
)


def config_text(targets: list[str], interval: str = "1s") -> str:
    listed = ", ".join(f'"{t}"' for t in targets)
    return textwrap.dedent(
        f"""
        global:
          scrape_interval: {interval}
        scrape_configs:
          - job_name: gallery
            static_configs:
              - targets: [{listed}]
        """
    )


def query(base: str, expr: str) -> list[dict[str, Any]]:
    _, _, body = http_get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    payload = json.loads(body)
    assert payload["status"] == "success", payload
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result


def wait_until(predicate: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not met within {timeout}s")


def post(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[list[str]]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(running([PYTHON, str(app), str(port)], ready_url=f"http://127.0.0.1:{port}/metrics"))
        yield [f"127.0.0.1:{port}" for port in ports]


def collector_cmd(config: Path, data: Path, port: int) -> list[str]:
    return [PYTHON, "-m", "metricslib", "collector", "--config", str(config), "--data-dir", str(data),
            "--listen", f"127.0.0.1:{port}", "--flush-interval", "1s", "--web.enable-lifecycle"]


def test_collector_scrapes_answers_reloads_and_keeps_data(tmp_path: Path, fleet: list[str]) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(config_text(fleet))
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(collector_cmd(config, data, port), ready_url=f"{base}/-/ready") as proc:
        wait_until(lambda: len(query(base, "up == 1")) == 2, what="both replicas up")
        scenario = 'sum(image_gallery_requests_total{code="200"}) without(instance)'
        wait_until(lambda: bool(query(base, scenario)), what="scenario query answers")
        result = query(base, scenario)
        assert [r["metric"] for r in result] == [{"code": "200", "hostname": "box", "job": "gallery"}]
        assert float(result[0]["value"][1]) > 0

        # A bad config is refused by both reload paths and the old one keeps scraping.
        config.write_text("scrape_configs:\n  - job_name: gallery\n    scrape_interval: soon\n")
        status, body = post(f"{base}/-/reload")
        assert status == 500 and b"scrape_interval" in body
        os.kill(proc.pid, signal.SIGHUP)
        time.sleep(1.5)
        assert proc.poll() is None
        assert len(query(base, "up == 1")) == 2
        targets = json.loads(http_get(f"{base}/api/v1/targets")[2])["data"]["activeTargets"]
        assert {t["health"] for t in targets} == {"up"}

        # A good config removes one replica: its target goes away.
        config.write_text(config_text(fleet[:1]))
        assert post(f"{base}/-/reload")[0] == 200
        wait_until(lambda: len(json.loads(http_get(f"{base}/api/v1/targets")[2])["data"]["activeTargets"]) == 1,
                   what="target removed by reload")

        def own_metrics() -> str:
            return http_get(f"{base}/metrics")[2].decode()

        def healthy_targets() -> float:
            for line in own_metrics().splitlines():
                if line.startswith("metricslib_scrape_targets{") and 'health="up"' in line and 'pool="gallery"' in line:
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        wait_until(lambda: healthy_targets() == 1.0, what="self metrics count the healthy target")
        assert "metricslib_storage_series " in own_metrics()
        assert "prometheus_engine_queries_concurrent_max 20.0" in own_metrics()  # --query.max-concurrency
        before = float(query(base, f'max_over_time(image_gallery_requests_total{{code="200",instance="{fleet[1]}"}}[1h])')[0]["value"][1])

    # Samples older than the flush interval survive a restart.
    config.write_text(config_text([], interval="1s"))
    with running(collector_cmd(config, data, port), ready_url=f"{base}/-/ready"):
        after = query(base, f'max_over_time(image_gallery_requests_total{{code="200",instance="{fleet[1]}"}}[1h])')
        assert after and float(after[0]["value"][1]) == before


def test_bad_config_at_start_fails_with_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_timeout: 1m\n")
    result = subprocess.run(collector_cmd(config, tmp_path / "d", free_port()), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert str(config) in result.stderr and "scrape_configs[0]" in result.stderr


def test_listen_address_in_use_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(config_text([]))
    port = free_port()
    with running(collector_cmd(config, tmp_path / "a", port), ready_url=f"http://127.0.0.1:{port}/-/ready"):
        result = subprocess.run(collector_cmd(config, tmp_path / "b", port), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and f"127.0.0.1:{port}" in result.stderr
