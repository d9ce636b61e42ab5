"""The collector against real targets on 127.0.0.1, storing into the real store.

Targets: an instrumented Python app (tests/collector/apps/target_app.py),
prometheus-node-exporter, a port nobody listens on, an endpoint that hangs past
the timeout, one that returns garbage and one over its sample and body limits.
The good ones keep being scraped, ``up`` is right for each and the errors show
in ``targets()``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from metricslib.collector.model import Matcher, is_stale_nan
from metricslib.collector.runtime import Collector
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.base import Storage
from tests.helpers import PYTHON, free_port, require_tool, running

pytestmark = pytest.mark.integration

APP = Path(__file__).parent / "apps" / "target_app.py"


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout}s")


def latest(storage: Storage, **labels: str) -> float | None:
    """Newest stored value of the one series matching ``labels`` (None if absent)."""
    matchers = [Matcher("__name__" if k == "name" else k, "=", v) for k, v in labels.items()]
    now = int(time.time() * 1000)
    series = storage.querier().select(matchers, now - 600_000, now + 60_000)
    if not series:
        return None
    values = series[0].values
    return float(values[-1]) if len(values) else None


@pytest.fixture
def targets() -> Iterator[dict[str, int]]:
    node_exporter = require_tool("prometheus-node-exporter", "prometheus-node-exporter")
    app_port, node_port = free_port(), free_port()
    app_cmd = [PYTHON, str(APP), "--port", str(app_port), "--hang", "3"]
    node_cmd = [node_exporter, f"--web.listen-address=127.0.0.1:{node_port}", "--collector.disable-defaults",
                "--collector.loadavg", "--collector.time"]
    with running(app_cmd, ready_url=f"http://127.0.0.1:{app_port}/healthz"), \
            running(node_cmd, ready_url=f"http://127.0.0.1:{node_port}/metrics"):
        yield {"app": app_port, "node": node_port, "down": free_port()}


def write_config(path: Path, ports: dict[str, int]) -> None:
    app = f"127.0.0.1:{ports['app']}"
    path.write_text(f"""
global:
  scrape_interval: 1s
  scrape_timeout: 800ms
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["{app}"], labels: {{team: web}}}}]
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{ports['node']}"]}}]
  - job_name: down
    static_configs: [{{targets: ["127.0.0.1:{ports['down']}"]}}]
  - job_name: hang
    metrics_path: /hang
    scrape_timeout: 500ms
    static_configs: [{{targets: ["{app}"]}}]
  - job_name: garbage
    metrics_path: /garbage
    static_configs: [{{targets: ["{app}"]}}]
  - job_name: too_many
    metrics_path: /big
    sample_limit: 100
    static_configs: [{{targets: ["{app}"]}}]
  - job_name: too_big
    metrics_path: /big
    body_size_limit: 1KB
    static_configs: [{{targets: ["{app}"]}}]
""")


def test_collector_scrapes_real_targets(tmp_path: Path, targets: dict[str, int]) -> None:
    config = tmp_path / "prometheus.yml"
    write_config(config, targets)
    storage = open_storage(tmp_path / "data", flush_interval_s=0.5)
    collector = Collector(str(config), storage)
    collector.start()
    try:
        def health() -> dict[str, tuple[object, object]]:
            active = collector.targets()["activeTargets"]
            assert isinstance(active, list)
            return {t["scrapePool"]: (t["health"], t["lastError"]) for t in active}

        wait_for(lambda: all(h != "unknown" for h, _ in health().values()) and len(health()) == 7,
                 what="every target scraped once")
        status = health()
        assert status["app"] == ("up", "") and status["node"] == ("up", "")
        assert status["down"][0] == "down" and "refused" in str(status["down"][1])
        assert status["hang"] == ("down", f'Get "http://127.0.0.1:{targets["app"]}/hang": context deadline exceeded')
        assert status["garbage"][0] == "down" and "line 1" in str(status["garbage"][1])
        assert status["too_many"][0] == "down" and "sample limit exceeded" in str(status["too_many"][1])
        assert status["too_big"][0] == "down" and "body size limit exceeded" in str(status["too_big"][1])

        for job, expected in [("app", 1.0), ("node", 1.0), ("down", 0.0), ("hang", 0.0), ("garbage", 0.0),
                              ("too_many", 0.0), ("too_big", 0.0)]:
            wait_for(lambda j=job, e=expected: latest(storage, name="up", job=j) == e,  # type: ignore[misc]
                     what=f"up{{job={job}}} == {expected}")
        assert latest(storage, name="scrape_samples_scraped", job="too_many") == 500.0

        app = f"127.0.0.1:{targets['app']}"
        assert latest(storage, name="target_app_temperature_celsius", job="app", instance=app, team="web") == 21.5
        load = latest(storage, name="node_load1", job="node")
        assert load is not None and load >= 0
        # The good targets keep being scraped while the bad ones fail.
        first = latest(storage, name="target_app_scrapes_total", job="app", path="/metrics")
        assert first is not None
        wait_for(lambda: (latest(storage, name="target_app_scrapes_total", job="app", path="/metrics") or 0)
                 >= first + 2, what="app scraped again")
        assert collector.metadata("target_app_temperature_celsius") == {
            "target_app_temperature_celsius": [{"type": "gauge", "help": "A steady gauge.", "unit": ""}]}
    finally:
        collector.stop()
        storage.close()


def test_removed_target_goes_stale_in_the_store(tmp_path: Path, targets: dict[str, int]) -> None:
    config = tmp_path / "prometheus.yml"
    app = f"127.0.0.1:{targets['app']}"
    config.write_text(f"global: {{scrape_interval: 1s, scrape_timeout: 800ms}}\nscrape_configs:\n"
                      f"  - job_name: app\n    static_configs: [{{targets: ['{app}']}}]\n")
    storage = open_storage(tmp_path / "data", flush_interval_s=0.5)
    collector = Collector(str(config), storage)
    collector.start()
    try:
        wait_for(lambda: latest(storage, name="up", job="app") == 1.0, what="app up")
        config.write_text("scrape_configs: []\n")
        collector.reload()

        def stale() -> bool:
            value = latest(storage, name="target_app_temperature_celsius", job="app")
            return value is not None and math.isnan(value) and is_stale_nan(value)

        wait_for(stale, what="staleness marker stored")
        assert collector.targets()["activeTargets"] == []
    finally:
        collector.stop()
        storage.close()
