from __future__ import annotations

import json
from pathlib import Path

import pytest

from metricslib.collector.config.alerting import AlertmanagerConfig
from metricslib.collector.config.config import parse_config
from metricslib.collector.discovery.targetgroup import TargetGroup
from metricslib.collector.model.relabel import RelabelConfig
from metricslib.collector.notifier.alertmanagers import AlertmanagerSet, alerts_path, resolve_group


@pytest.mark.parametrize(
    ("prefix", "version", "path"),
    [("", "v2", "/api/v2/alerts"), ("/", "v2", "/api/v2/alerts"), ("/am/", "v2", "/am/api/v2/alerts"),
     ("am", "v2", "/am/api/v2/alerts"), ("/a//b", "v1", "/a/b/api/v1/alerts")],
)
def test_alerts_path_joins_like_go_path_join(prefix: str, version: str, path: str) -> None:
    assert alerts_path(prefix, version) == path


def group(*addresses: str, **labels: str) -> TargetGroup:
    return TargetGroup("g", tuple((("__address__", a),) for a in addresses), tuple(sorted(labels.items())))


def test_url_is_scheme_address_and_alerts_path() -> None:
    cfg = AlertmanagerConfig(scheme="https", path_prefix="/am")
    kept, dropped = resolve_group(group("127.0.0.1:9093", team="a"), cfg)
    assert [am.url for am in kept] == ["https://127.0.0.1:9093/am/api/v2/alerts"] and dropped == []
    assert dict(kept[0].labels)["team"] == "a"


def test_relabelling_may_rewrite_scheme_address_and_path_or_drop() -> None:
    cfg = AlertmanagerConfig(relabel_configs=(
        RelabelConfig.create(source_labels=["__address__"], regex="drop-me:.*", action="drop"),
        RelabelConfig.create(source_labels=["role"], regex="secure", target_label="__scheme__",
                             replacement="https"),
        RelabelConfig.create(target_label="__alerts_path__", replacement="/custom/api/v2/alerts"),
        RelabelConfig.create(source_labels=["__address__"], regex="(.*):1", target_label="__address__",
                             replacement="${1}:9093"),
    ))
    kept, dropped = resolve_group(group("a:1", "drop-me:2", role="secure"), cfg)
    assert [am.url for am in kept] == ["https://a:9093/custom/api/v2/alerts"]
    assert [am.url for am in dropped] == ["http://drop-me:2/api/v2/alerts"]  # as before relabelling


def test_target_labels_win_over_group_labels() -> None:
    tg = TargetGroup("g", ((("__address__", "a:1"), ("__scheme__", "ignored")),), (("__address__", "b:2"),))
    (am,), _ = resolve_group(tg, AlertmanagerConfig())
    assert am.url == "http://a:1/api/v2/alerts"  # the config's scheme is set over the target's, as Prometheus


def test_an_address_with_a_path_after_relabelling_fails_the_group() -> None:
    cfg = AlertmanagerConfig(relabel_configs=(RelabelConfig.create(target_label="__address__",
                                                                   replacement="a:1/x"),))
    with pytest.raises(ValueError, match="not a valid hostname"):
        resolve_group(group("a:1"), cfg)
    ams = AlertmanagerSet(cfg)
    assert ams.sync([group("a:1")]) is False and ams.active == []


def test_duplicate_urls_are_sent_to_once() -> None:
    ams = AlertmanagerSet(AlertmanagerConfig())
    assert ams.sync([group("a:1"), group("a:1", extra="x"), group("b:2")]) is True
    assert [am.url for am in ams.active] == ["http://a:1/api/v2/alerts", "http://b:2/api/v2/alerts"]
    assert ams.sync([group("a:1"), group("b:2")]) is False


def test_file_sd_feeds_the_set(tmp_path: Path) -> None:
    (tmp_path / "ams.json").write_text(json.dumps([{"targets": ["127.0.0.1:9093"], "labels": {"dc": "x"}}]))
    cfg = parse_config("alerting:\n  alertmanagers:\n  - file_sd_configs:\n    - files: [ams.json]\n",
                       "p.yml", base_dir=str(tmp_path))
    ams = AlertmanagerSet(cfg.alerting.alertmanagers[0])
    assert ams.poll(0.0) is True
    assert [am.url for am in ams.active] == ["http://127.0.0.1:9093/api/v2/alerts"]
    (tmp_path / "ams.json").write_text(json.dumps([{"targets": ["127.0.0.1:9094", "127.0.0.1:9095"]}]))
    assert ams.poll(1.0) is True
    assert [am.url for am in ams.active] == ["http://127.0.0.1:9094/api/v2/alerts",
                                            "http://127.0.0.1:9095/api/v2/alerts"]
