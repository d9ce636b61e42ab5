"""Discovery: static_configs."""

from __future__ import annotations

from metricslib.collector.config.config import parse_config
from metricslib.collector.discovery.static import StaticProvider
from tests.collector.discovery.helpers import addresses


def test_static_groups_are_sent_once() -> None:
    cfg = parse_config("scrape_configs:\n  - job_name: a\n    static_configs:\n"
                       "      - targets: [h:1, h:2]\n        labels: {env: p}\n      - targets: [h:3]\n")
    provider = StaticProvider(cfg.scrape_configs[0].static_configs)
    groups = provider.poll(0)
    assert addresses(groups) == ["h:1", "h:2", "h:3"]
    assert groups is not None and groups[0].labels == (("env", "p"),) and groups[0].source == "static/0"
    assert provider.poll(1) is None
