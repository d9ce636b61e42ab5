"""The collector's own /metrics: Prometheus's names over a real store, HTTP and query hooks, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from metricslib.collector.config.remote_write import RemoteWriteConfig
from metricslib.collector.model import make_labels
from metricslib.collector.scrape.counters import ScrapeCounters
from metricslib.collector.scrape.stats import ScrapeStats
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.remote.write import RemoteWriteQueue
from metricslib.collector.textparse.formats import parse_families
from metricslib.collector.web.selfmetrics import SelfMetrics, http_handler_label
from tests.collector.fakes import RecordingEngine


class FakeCollector:
    def __init__(self) -> None:
        self.stats = ScrapeStats()
        self.last_reload_success = False
        self.last_reload_success_time = 1234.5
        self.ready = True
        self.scrape_counters = ScrapeCounters()

    def targets(self, state: str = "any") -> dict[str, object]:
        return {"activeTargets": [{"scrapePool": "node", "health": "up"}]}

    def pool_sizes(self) -> dict[str, tuple[int, int]]:
        return {"node": (1, 2)}


def values(metrics: SelfMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render("")
    out = {}
    for family in parse_families(body.decode(), "text"):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture
def metrics(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_storage(tmp_path / "d", background=False, retention_ms=10**15, retention_bytes=1 << 30)
    app = store.appender()
    for i in range(3):
        app.append(make_labels({"__name__": "m", "i": str(i)}), 1000, 1.0)
    app.commit()
    collector = FakeCollector()
    collector.stats.observe_interval("15s", 15.0)
    collector.stats.count_scrape("sample limit exceeded (samples: 3, limit: 2)", 0)
    yield SelfMetrics(store, collector, build_info={"version": "2.42.0"})
    store.close()


def test_state_is_exposed_under_prometheus_names(metrics: SelfMetrics) -> None:
    v = values(metrics)
    assert v[("prometheus_tsdb_head_series", ())] == 3
    assert v[("prometheus_tsdb_head_samples_appended_total", ())] == 3
    assert v[("prometheus_tsdb_head_series_created_total", ())] == 3
    assert v[("prometheus_tsdb_retention_limit_bytes", ())] == 1 << 30
    assert v[("prometheus_tsdb_head_max_time_seconds", ())] == 1.0
    assert v[("prometheus_target_interval_length_seconds", (("interval", "15s"), ("quantile", "0.99")))] == 15.0
    assert v[("prometheus_target_interval_length_seconds_count", (("interval", "15s"),))] == 1
    assert v[("prometheus_target_scrapes_exceeded_sample_limit_total", ())] == 1
    assert v[("prometheus_target_scrape_pool_targets", (("scrape_job", "node"),))] == 1
    assert v[("prometheus_sd_discovered_targets", (("config", "node"), ("name", "scrape")))] == 3
    assert v[("prometheus_config_last_reload_successful", ())] == 0
    assert v[("prometheus_config_last_reload_success_timestamp_seconds", ())] == 1234.5
    assert ("prometheus_build_info", (("branch", ""), ("goversion", ""), ("revision", ""), ("tags", ""),
                                      ("version", "2.42.0"))) in v
    assert v[("metricslib_scrape_targets", (("health", "up"), ("pool", "node")))] == 1
    assert any(name == "process_cpu_seconds_total" for name, _ in v)


def test_http_and_query_hooks(metrics: SelfMetrics) -> None:
    metrics.observe_http("/api/v1/query", 200, 0.25, 500)
    metrics.observe_http("/api/v1/label/job/values", 200, 0.01, 50)
    engine = metrics.timed(RecordingEngine())
    engine.instant_query("up", 0)
    engine.range_query("up", 0, 10, 1)
    v = values(metrics)
    assert v[("prometheus_http_requests_total", (("code", "200"), ("handler", "/api/v1/query")))] == 1
    assert v[("prometheus_http_request_duration_seconds_bucket", (("handler", "/api/v1/query"), ("le", "0.2")))] == 0
    assert v[("prometheus_http_request_duration_seconds_bucket", (("handler", "/api/v1/query"), ("le", "0.4")))] == 1
    assert v[("prometheus_http_requests_total", (("code", "200"), ("handler", "/api/v1/label/:name/values")))] == 1
    assert v[("prometheus_engine_query_duration_seconds_count", (("slice", "inner_eval"),))] == 2


@pytest.mark.parametrize(("path", "status", "label"), [
    ("/metrics", 200, "/metrics"),
    ("/static/app.js", 200, "/static/*filepath"),
    ("/api/v1/query_range", 400, "/api/v1/query_range"),
    ("/api/v1/nonsense", 404, "other"),
    ("/wp-login.php", 404, "other"),
])
def test_handler_labels_are_routes_not_raw_paths(path: str, status: int, label: str) -> None:
    assert http_handler_label(path, status) == label


def test_duplicate_samples_and_redacted_remote_urls_are_exposed(tmp_path: Path) -> None:
    collector = FakeCollector()
    collector.scrape_counters.add_duplicates(3)
    queues = [
        RemoteWriteQueue(RemoteWriteConfig(url="http://alice:S3CRET%40x@127.0.0.1:1/api/v1/write")),
        RemoteWriteQueue(RemoteWriteConfig(url="http://bob:S3CRET@127.0.0.1:2/w", name="named")),
    ]
    store = open_storage(tmp_path, background=False)
    try:
        body, _ = SelfMetrics(store, collector, queues).render("text/plain")
    finally:
        store.close()
    text = body.decode()
    assert "prometheus_target_scrapes_sample_duplicate_timestamp_total 3.0" in text
    assert "S3CRET" not in text
    assert 'outcome="sent",remote="alice:xxxxx@127.0.0.1:1"' in text
    assert 'outcome="sent",remote="named"' in text
    assert "prometheus_tsdb_wal_segment_current 1.0" in text
    assert "prometheus_tsdb_wal_writes_failed_total 0.0" in text
    assert "prometheus_tsdb_wal_corruptions_total 0.0" in text
