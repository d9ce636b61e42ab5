"""The collector's own /metrics: scrape counters and remote-write queues, secrets hidden."""

from __future__ import annotations

from pathlib import Path

from metricslib.collector.config.remote_write import RemoteWriteConfig
from metricslib.collector.scrape.counters import ScrapeCounters
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.remote.write import RemoteWriteQueue
from metricslib.collector.web.selfmetrics import SelfMetrics


class FakeCollector:
    def __init__(self) -> None:
        self.scrape_counters = ScrapeCounters()

    def targets(self, state: str = "any") -> dict[str, object]:
        return {"activeTargets": [], "droppedTargets": []}


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
    assert "metricslib_storage_wal_segment_current 1.0" in text
    assert "metricslib_storage_wal_writes_failed_total 0.0" in text
    assert "metricslib_storage_wal_corruptions_total 0.0" in text
