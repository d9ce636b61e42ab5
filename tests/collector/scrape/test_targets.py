from __future__ import annotations

import textwrap

from metricslib.collector.config.config import ScrapeConfig, parse_config
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.scrape.targets import build_targets, populate_labels, rfc3339


def job(extra: str = "") -> ScrapeConfig:
    text = "scrape_configs:\n  - job_name: web\n    scrape_interval: 15s\n"
    text += textwrap.indent(textwrap.dedent(extra), "    ")
    return parse_config(text, "t.yml").scrape_configs[0]


def group(*addresses: str, **labels: str) -> TargetGroup:
    return TargetGroup("g", tuple((("__address__", a),) for a in addresses), tuple(sorted(labels.items())))


def test_defaults_meta_labels_and_instance() -> None:
    discovered, final, error = populate_labels({"__address__": "host"}, {"__meta_x": "1", "env": "p"}, job())
    assert error == ""
    assert discovered == {
        "__address__": "host", "__meta_x": "1", "env": "p", "job": "web",
        "__scheme__": "http", "__metrics_path__": "/metrics",
        "__scrape_interval__": "15s", "__scrape_timeout__": "10s"}
    assert final is not None
    assert final["__address__"] == "host:80"  # the port comes from the scheme, as in Prometheus 2.42
    assert final["instance"] == "host:80"
    assert "__meta_x" not in final


def test_https_default_port_and_ipv6() -> None:
    sc = job("scheme: https\n")
    assert populate_labels({"__address__": "h"}, {}, sc)[1]["__address__"] == "h:443"  # type: ignore[index]
    assert populate_labels({"__address__": "[::1]"}, {}, sc)[1]["__address__"] == "[::1]:443"  # type: ignore[index]
    assert populate_labels({"__address__": "[::1]:9"}, {}, sc)[1]["__address__"] == "[::1]:9"  # type: ignore[index]


def test_target_labels_override_group_labels() -> None:
    _, final, _ = populate_labels({"__address__": "a:1", "env": "t"}, {"env": "g"}, job())
    assert final is not None and final["env"] == "t"


def test_relabel_can_drop_and_set_scrape_labels() -> None:
    sc = job("""\
        relabel_configs:
          - source_labels: [env]
            regex: skip
            action: drop
          - source_labels: [path]
            regex: (.+)
            target_label: __metrics_path__
          - target_label: __scrape_interval__
            replacement: 30s
          - target_label: __scrape_timeout__
            replacement: 5s
    """)
    targets, dropped = build_targets(sc, [
        group("a:1", env="skip"),
        TargetGroup("g2", ((("__address__", "b:2"), ("path", "/custom")),)),
    ])
    assert [d.discovered["__address__"] for d in dropped] == ["a:1"]
    assert dropped[0].api_dict() == {"discoveredLabels": dropped[0].discovered}
    (t,) = targets
    assert t.url == "http://b:2/custom"
    assert (t.interval, t.timeout) == (30_000, 5_000)


def test_bad_address_drops_target_with_reason() -> None:
    sc = job("relabel_configs:\n  - target_label: __address__\n    replacement: 'x/y'\n")
    targets, dropped = build_targets(sc, [group("a:1")])
    assert targets == [] and "not a valid hostname" in dropped[0].reason


def test_timeout_over_interval_from_relabelling_drops_target() -> None:
    sc = job("relabel_configs:\n  - target_label: __scrape_timeout__\n    replacement: 1m\n")
    targets, dropped = build_targets(sc, [group("a:1")])
    assert targets == [] and "greater than scrape interval" in dropped[0].reason


def test_identical_targets_are_deduplicated() -> None:
    targets, _ = build_targets(job(), [group("a:1"), group("a:1")])
    assert len(targets) == 1


def test_public_labels_exclude_double_underscore() -> None:
    (t,), _ = build_targets(job(), [group("a:1", team="x")])
    assert t.public_labels == (("instance", "a:1"), ("job", "web"), ("team", "x"))


def test_offset_is_stable_and_within_interval() -> None:
    targets, _ = build_targets(job(), [group(*(f"h{i}:80" for i in range(50)))])
    offsets = [t.offset_ns() for t in targets]
    assert all(0 <= o < 15_000_000_000 for o in offsets)
    again, _ = build_targets(job(), [group(*(f"h{i}:80" for i in range(50)))])
    assert [t.offset_ns() for t in again] == offsets  # same labels, same phase after a restart
    assert len(set(offsets)) > 40  # spread over the interval
    assert targets[0].offset_ns(seed=12345) != offsets[0]


def test_rfc3339() -> None:
    assert rfc3339(0) == "0001-01-01T00:00:00Z"
    assert rfc3339(1_700_000_000.5) == "2023-11-14T22:13:20.500000Z"


def test_zero_or_invalid_interval_from_relabelling_drops_target() -> None:
    for value, reason in (("0s", "cannot be 0"), ("soon", "not a valid duration")):
        sc = job(f"relabel_configs:\n  - target_label: __scrape_interval__\n    replacement: '{value}'\n")
        targets, dropped = build_targets(sc, [group("a:1")])
        assert targets == [] and reason in dropped[0].reason
