"""The Collector end to end with a fake transport and storage: threads, discovery, reload."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from metricslib.collector.model import is_stale_nan
from metricslib.collector.scrape.manager import Collector
from metricslib.errors import ConfigError
from tests.collector.apps.fakes import FakeStorage, FakeTransport

BODY = "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 5\n"


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def config(tmp_path: Path, jobs: dict[str, list[str]], extra: str = "") -> Path:
    path = tmp_path / "prometheus.yml"
    text = "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n  external_labels: {site: lab}\nscrape_configs:\n"
    for name, targets in jobs.items():
        text += f"  - job_name: {name}\n    static_configs:\n      - targets: {json.dumps(targets)}\n"
    path.write_text(text + extra)
    return path


def all_scraped(c: Collector) -> bool:
    active = c.targets("active")["activeTargets"]
    assert isinstance(active, list)
    return bool(active) and all(t["health"] != "unknown" for t in active)


@pytest.fixture
def transport() -> FakeTransport:
    t = FakeTransport()
    for port in (1, 2, 3):
        t.set_body(f"http://127.0.0.1:{port}/metrics", BODY)
    return t


@pytest.fixture
def running(tmp_path: Path, transport: FakeTransport) -> Iterator[tuple[Collector, FakeStorage, Path]]:
    storage = FakeStorage()
    path = config(tmp_path, {"app": ["127.0.0.1:1", "127.0.0.1:2"], "down": ["127.0.0.1:9"]})
    c = Collector(str(path), storage, transport=transport)  # type: ignore[arg-type]
    assert not c.ready
    c.start()
    try:
        yield c, storage, path
    finally:
        c.stop()


def test_scrapes_every_target_and_reports_health(running: tuple[Collector, FakeStorage, Path]) -> None:
    c, storage, _ = running
    wait_for(lambda: all_scraped(c))
    assert c.ready
    active = c.targets()["activeTargets"]
    assert isinstance(active, list)
    health = {t["scrapeUrl"]: t["health"] for t in active}
    assert health == {"http://127.0.0.1:1/metrics": "up", "http://127.0.0.1:2/metrics": "up",
                      "http://127.0.0.1:9/metrics": "down"}
    down = next(t for t in active if t["health"] == "down")
    assert "refused" in str(down["lastError"])
    assert storage.last("up", job="down") == 0.0
    wait_for(lambda: storage.last("jobs_total", instance="127.0.0.1:2") == 5.0)
    assert "site" not in dict(storage.labelsets("jobs_total")[0])  # external labels are not stored


def test_targets_state_filter_and_dropped(tmp_path: Path, transport: FakeTransport) -> None:
    path = config(tmp_path, {"app": ["127.0.0.1:1", "127.0.0.1:2"]},
                  "    relabel_configs:\n      - source_labels: [__address__]\n        regex: '.*:2'\n"
                  "        action: drop\n")
    c = Collector(str(path), FakeStorage(), transport=transport)  # type: ignore[arg-type]
    c.start()
    try:
        wait_for(lambda: c.ready)
        everything = c.targets("any")
        assert [t["labels"] for t in everything["activeTargets"]] == [  # type: ignore[union-attr]
            {"instance": "127.0.0.1:1", "job": "app"}]
        dropped = everything["droppedTargets"]
        assert isinstance(dropped, list) and dropped[0]["discoveredLabels"]["__address__"] == "127.0.0.1:2"
        assert c.targets("active")["droppedTargets"] == []
        assert c.targets("dropped")["activeTargets"] == []
        assert c.targets("dropped")["droppedTargets"] == dropped
    finally:
        c.stop()


def test_metadata_from_last_scrape(running: tuple[Collector, FakeStorage, Path]) -> None:
    c, _, _ = running
    wait_for(lambda: bool(c.metadata()))
    assert c.metadata() == {"jobs_total": [{"type": "counter", "help": "Jobs run.", "unit": ""}]}
    assert c.metadata("nope") == {}
    assert c.metadata(limit=0) == {}


def test_reload_adds_and_removes_jobs_and_marks_removed_series_stale(
    running: tuple[Collector, FakeStorage, Path], tmp_path: Path
) -> None:
    c, storage, _ = running
    wait_for(lambda: all_scraped(c))
    config(tmp_path, {"app": ["127.0.0.1:1"], "more": ["127.0.0.1:3"]})
    c.reload()
    assert (c.reload_count, c.last_reload_success) == (1, True)
    # Markers are written by each stopped loop once any scrape in flight is done.
    wait_for(lambda: storage.stale("up", job="down"))
    wait_for(lambda: storage.stale("up", job="app", instance="127.0.0.1:2"))
    assert storage.stale("jobs_total", instance="127.0.0.1:2")
    # The target that stays keeps its series going, without a marker in between.
    assert not any(is_stale_nan(v) for _, v in storage.series("up", job="app", instance="127.0.0.1:1"))
    wait_for(lambda: storage.last("up", job="more") == 1.0)
    jobs = {t["scrapePool"] for t in c.targets()["activeTargets"]}  # type: ignore[union-attr]
    assert jobs == {"app", "more"}


def test_bad_reload_keeps_running_config(running: tuple[Collector, FakeStorage, Path]) -> None:
    c, storage, path = running
    wait_for(lambda: all_scraped(c))
    before_text = c.config_text
    path.write_text("scrape_configs:\n  - job_name: app\n    scrape_interval: often\n")
    with pytest.raises(ConfigError) as info:
        c.reload()
    assert info.value.key_path == "scrape_configs[0].scrape_interval"
    assert c.last_reload_success is False and c.reload_count == 0
    assert c.config_text == before_text
    assert len(c.targets()["activeTargets"]) == 3  # type: ignore[arg-type]
    count = len(storage.series("up", job="app", instance="127.0.0.1:1"))
    wait_for(lambda: len(storage.series("up", job="app", instance="127.0.0.1:1")) > count)


def test_config_text_and_external_labels(running: tuple[Collector, FakeStorage, Path]) -> None:
    c, _, _ = running
    doc = yaml.safe_load(c.config_text)
    assert doc["global"]["scrape_interval"] == "1s"
    assert [j["job_name"] for j in doc["scrape_configs"]] == ["app", "down"]
    assert c.external_labels() == {"site": "lab"}


def test_stop_writes_no_staleness_markers(tmp_path: Path, transport: FakeTransport) -> None:
    storage = FakeStorage()
    c = Collector(str(config(tmp_path, {"app": ["127.0.0.1:1"]})), storage, transport=transport)  # type: ignore[arg-type]
    c.start()
    wait_for(lambda: storage.last("up") == 1.0)
    c.stop()
    assert not storage.stale("up") and not storage.stale("jobs_total")
    assert not c.ready


def test_file_sd_changes_reach_the_scrape_loops(tmp_path: Path, transport: FakeTransport) -> None:
    sd = tmp_path / "targets.json"
    sd.write_text(json.dumps([{"targets": ["127.0.0.1:1"]}]))
    path = tmp_path / "prometheus.yml"
    path.write_text("scrape_configs:\n  - job_name: files\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
                    "    file_sd_configs:\n      - files: [targets.json]\n")
    storage = FakeStorage()
    c = Collector(str(path), storage, transport=transport)  # type: ignore[arg-type]
    c.start()
    try:
        wait_for(lambda: storage.last("up", instance="127.0.0.1:1") == 1.0)
        sd.write_text(json.dumps([{"targets": ["127.0.0.1:2", "127.0.0.1:3"], "labels": {"tier": "b"}}]))
        wait_for(lambda: storage.last("up", instance="127.0.0.1:3", tier="b") == 1.0)
        assert storage.stale("up", instance="127.0.0.1:1")
        active = c.targets()["activeTargets"]
        assert isinstance(active, list)
        assert active[0]["discoveredLabels"]["__meta_filepath"] == str(sd)
    finally:
        c.stop()


def test_a_failing_transport_does_not_stop_other_targets(tmp_path: Path, transport: FakeTransport) -> None:
    def explode() -> tuple[int, dict[str, str], bytes]:
        raise RuntimeError("boom")

    transport.responses["http://127.0.0.1:2/metrics"] = explode
    storage = FakeStorage()
    c = Collector(str(config(tmp_path, {"app": ["127.0.0.1:1", "127.0.0.1:2"]})), storage,
                  transport=transport)  # type: ignore[arg-type]
    c.start()
    try:
        wait_for(lambda: len(storage.series("up", instance="127.0.0.1:1")) >= 2)
        assert storage.last("up", instance="127.0.0.1:2") == 0.0
    finally:
        c.stop()


def test_invalid_config_at_construction_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("scrape_configs: 3\n")
    with pytest.raises(ConfigError, match="expected a list"):
        Collector(str(path), FakeStorage())  # type: ignore[arg-type]


def test_reload_with_changed_scrape_settings_continues_series(
    running: tuple[Collector, FakeStorage, Path], tmp_path: Path
) -> None:
    c, storage, path = running
    wait_for(lambda: all_scraped(c))
    path.write_text(path.read_text().replace("scrape_timeout: 500ms", "scrape_timeout: 900ms"))
    c.reload()
    active = c.targets()["activeTargets"]
    assert isinstance(active, list)
    assert {t["scrapeTimeout"] for t in active} == {"900ms"}
    assert all(t["health"] != "unknown" for t in active)  # state carried over to the new loops
    count = len(storage.series("up", job="app", instance="127.0.0.1:1"))
    wait_for(lambda: len(storage.series("up", job="app", instance="127.0.0.1:1")) > count)
    assert not any(is_stale_nan(v) for _, v in storage.series("jobs_total", instance="127.0.0.1:1"))


def test_a_stopped_collector_cannot_be_restarted(tmp_path: Path, transport: FakeTransport) -> None:
    c = Collector(str(config(tmp_path, {"app": ["127.0.0.1:1"]})), FakeStorage(), transport=transport)  # type: ignore[arg-type]
    c.start()
    c.stop()
    with pytest.raises(RuntimeError, match="cannot be started again"):
        c.start()


def test_reload_before_start_applies_at_start(tmp_path: Path, transport: FakeTransport) -> None:
    storage = FakeStorage()
    path = config(tmp_path, {"app": ["127.0.0.1:1"]})
    c = Collector(str(path), storage, transport=transport)  # type: ignore[arg-type]
    config(tmp_path, {"other": ["127.0.0.1:2"]})
    c.reload()
    c.start()
    try:
        wait_for(lambda: storage.last("up", job="other") == 1.0)
        assert storage.labelsets("up") == [{"__name__": "up", "job": "other", "instance": "127.0.0.1:2"}]
    finally:
        c.stop()
