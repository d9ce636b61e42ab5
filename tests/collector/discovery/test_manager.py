"""Discovery: all providers of a job together."""

from __future__ import annotations

from pathlib import Path

from metricslib.collector.config.config import parse_config
from metricslib.collector.discovery.manager import JobDiscovery
from tests.collector.discovery.helpers import addresses, write


def test_job_discovery_combines_providers(tmp_path: Path) -> None:
    write(tmp_path / "t.json", [{"targets": ["f:1"]}])
    cfg = parse_config(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [s:1]\n"
        "    file_sd_configs:\n      - files: [t.json]\n", "p.yml", base_dir=str(tmp_path))
    disc = JobDiscovery(cfg.scrape_configs[0])
    assert addresses(disc.poll(0)) == ["s:1", "f:1"]
    assert disc.poll(1) is None
    assert disc.errors == {}
