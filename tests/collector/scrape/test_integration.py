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
from metricslib.collector.scrape.manager import Collector
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.base import Storage
from tests.helpers import PYTHON, free_port, require_tool, running

pytestmark = pytest.mark.integration

APP = Path(__file__).parents[1] / "apps" / "target_app.py"


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


DIFF_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 800ms
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["{app}"], labels: {{team: web}}}}]
    params:
      module: [basic]
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*):(\\d+)'
        target_label: port
        replacement: '${{2}}'
      - source_labels: [team]
        target_label: __param_team
      - regex: team
        action: labeldrop
    metric_relabel_configs:
      - source_labels: [__name__, path]
        regex: 'target_app_scrapes_(total|created);(.*)'
        target_label: route
        replacement: '$2'
      - regex: path
        action: labeldrop
  - job_name: honored
    honor_labels: true
    metrics_path: /conflict
    static_configs: [{{targets: ["{app}"]}}]
  - job_name: exported
    metrics_path: /conflict
    static_configs: [{{targets: ["{app}"]}}]
    relabel_configs:
      - target_label: instance
        replacement: renamed
  - job_name: down
    static_configs: [{{targets: ["{down}"]}}]
  - job_name: garbage
    metrics_path: /garbage
    static_configs: [{{targets: ["{app}"]}}]
  - job_name: dropped_one
    static_configs: [{{targets: ["{app}", "127.0.0.1:1"]}}]
    relabel_configs:
      - source_labels: [__address__]
        regex: '127\\.0\\.0\\.1:1'
        action: drop
"""


def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Like helpers.wait_for_http, but closes the 503 answers Prometheus gives while
    starting (an unclosed HTTPError leaks its socket: a ResourceWarning, an error here)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            exc.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout}s")


def prometheus_get(base: str, path: str) -> object:
    import json
    import urllib.request

    with urllib.request.urlopen(base + path, timeout=10) as resp:
        payload = json.loads(resp.read())
    assert payload["status"] == "success", payload
    return payload["data"]


def test_same_targets_and_series_as_prometheus(tmp_path: Path, targets: dict[str, int]) -> None:
    """Differential: Prometheus 2.42 and our collector scrape the same targets with
    the same file; target labels, dropped targets and stored series must agree."""
    import urllib.parse

    prometheus = require_tool("prometheus", "prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(DIFF_CONFIG.format(app=f"127.0.0.1:{targets['app']}", down=f"127.0.0.1:{targets['down']}"))
    web = free_port()
    base = f"http://127.0.0.1:{web}"
    prom_cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom'}",
                f"--web.listen-address=127.0.0.1:{web}"]
    storage = open_storage(tmp_path / "data", flush_interval_s=0.5)
    collector = Collector(str(config), storage)
    with running(prom_cmd):
        wait_ready(f"{base}/-/ready")
        collector.start()
        try:
            def prom_targets() -> list[dict[str, object]]:
                data = prometheus_get(base, "/api/v1/targets")
                assert isinstance(data, dict)
                return list(data["activeTargets"])

            # Prometheus hands discovered targets to its scrape manager every 5s.
            wait_for(lambda: len(prom_targets()) == 6 and all(t["health"] != "unknown" for t in prom_targets()),
                     what="prometheus scraped every target")
            wait_for(lambda: all(t["health"] != "unknown" for t in collector.targets()["activeTargets"]),  # type: ignore[union-attr]
                     what="we scraped every target")
            health = {str(t["scrapePool"]): (t["health"], t["lastError"]) for t in prom_targets()}
            ours_health = {str(t["scrapePool"]): (t["health"], t["lastError"])
                           for t in collector.targets()["activeTargets"]}  # type: ignore[union-attr]
            assert {k: v[0] for k, v in ours_health.items()} == {k: v[0] for k, v in health.items()}
            assert ours_health["down"] == health["down"]  # same words for a refused connection

            def key(t: dict[str, object]) -> tuple[object, ...]:
                return (t["scrapePool"], t["scrapeUrl"], sorted(t["labels"].items()),  # type: ignore[attr-defined]
                        sorted(t["discoveredLabels"].items()))  # type: ignore[attr-defined]

            ours_t = collector.targets()
            theirs_t = prometheus_get(base, "/api/v1/targets")
            assert isinstance(theirs_t, dict)
            assert sorted(map(key, ours_t["activeTargets"])) == sorted(map(key, theirs_t["activeTargets"]))  # type: ignore[arg-type]
            assert [d["discoveredLabels"] for d in ours_t["droppedTargets"]] == [  # type: ignore[union-attr]
                d["discoveredLabels"] for d in theirs_t["droppedTargets"]]

            def prom_series() -> set[tuple[tuple[str, str], ...]]:
                query = urllib.parse.urlencode({"match[]": '{__name__=~".+"}'})
                data = prometheus_get(base, f"/api/v1/series?{query}")
                assert isinstance(data, list)
                return {tuple(sorted(s.items())) for s in data}

            def our_series() -> set[tuple[tuple[str, str], ...]]:
                now = int(time.time() * 1000)
                found = storage.querier().select([Matcher("__name__", "=~", ".+")], now - 600_000, now + 60_000)
                return {s.labels for s in found}

            wait_for(lambda: our_series() == prom_series(), timeout=15, what="same series stored")

            def normalised(meta: object) -> dict[str, list[tuple[str, str, str]]]:
                assert isinstance(meta, dict)
                return {name: sorted((e["type"], e["help"], e["unit"]) for e in entries)
                        for name, entries in meta.items()}

            assert normalised(collector.metadata()) == normalised(prometheus_get(base, "/api/v1/metadata"))

            for name in ("up", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling"):
                query = urllib.parse.urlencode({"query": name})
                data = prometheus_get(base, f"/api/v1/query?{query}")
                assert isinstance(data, dict)
                theirs_v = {r["metric"]["job"]: float(r["value"][1]) for r in data["result"]}
                ours_v = {job: latest(storage, name=name, job=job) for job in theirs_v}
                assert ours_v == theirs_v, name
        finally:
            collector.stop()
            storage.close()
    stored = [dict(s) for s in our_series_snapshot(storage_dir=tmp_path / "data")]
    conflict = [s for s in stored if s["__name__"] == "conflict_metric" and s["job"] == "exported"]
    # "exported_job" is already exposed, so the clashing "job" climbs one prefix further.
    assert {"exported_exported_job": "inner", "exported_instance": "elsewhere", "exported_job": "pre"}.items() \
        <= next(s for s in conflict if "exported_job" in s).items()
    assert any(s.get("route") == "/metrics" and s["__name__"] == "target_app_scrapes_total" for s in stored)


def our_series_snapshot(storage_dir: Path) -> set[tuple[tuple[str, str], ...]]:
    storage = open_storage(storage_dir)
    try:
        found = storage.querier().select([Matcher("__name__", "=~", ".+")], 0, int(time.time() * 1000) + 60_000)
        return {s.labels for s in found}
    finally:
        storage.close()
