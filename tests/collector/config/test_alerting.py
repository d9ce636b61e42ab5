from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.config.config import load_config, parse_config
from metricslib.collector.config.dump import dump_config
from metricslib.errors import ConfigError
from tests.helpers import require_tool

FULL = """\
global:
  external_labels: {cluster: eu}
alerting:
  alert_relabel_configs:
  - action: labeldrop
    regex: replica
  alertmanagers:
  - static_configs:
    - targets: ['127.0.0.1:9093', '127.0.0.1:9094']
      labels: {team: a}
  - scheme: https
    path_prefix: /am/
    timeout: 3s
    api_version: v2
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true, server_name: am.local}
    dns_sd_configs:
    - names: [am.example]
      type: A
      port: 9093
    file_sd_configs:
    - files: [ams/*.json]
    relabel_configs:
    - source_labels: [__address__]
      regex: '10\\..*'
      action: drop
    alert_relabel_configs:
    - target_label: via
      replacement: https
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prometheus.yml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_key_is_read(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL))
    a = cfg.alerting
    assert [r.action for r in a.alert_relabel_configs] == ["labeldrop"]
    first, second = a.alertmanagers
    assert (first.scheme, first.path_prefix, first.timeout, first.api_version) == ("http", "", 10_000, "v2")
    assert first.static_configs[0].targets == ("127.0.0.1:9093", "127.0.0.1:9094")
    assert dict(first.static_configs[0].labels) == {"team": "a"}
    assert (second.scheme, second.path_prefix, second.timeout) == ("https", "/am/", 3_000)
    assert second.http.basic_auth is not None and second.http.basic_auth.username == "u"
    assert second.http.tls_config.insecure_skip_verify and second.http.tls_config.server_name == "am.local"
    assert second.dns_sd_configs[0].names == ("am.example",) and second.dns_sd_configs[0].port == 9093
    assert second.file_sd_configs[0].files == (str(tmp_path / "ams" / "*.json"),)
    assert [r.action for r in second.relabel_configs] == ["drop"]
    assert second.alert_relabel_configs[0].target_label == "via"
    assert not cfg.warnings


def test_no_alerting_section_means_no_alertmanagers() -> None:
    cfg = parse_config("global: {}\n", "p.yml")
    assert cfg.alerting.alertmanagers == () and cfg.alerting.alert_relabel_configs == ()


def test_api_version_v1_is_accepted_with_a_warning_as_in_2_42() -> None:
    cfg = parse_config("alerting:\n  alertmanagers:\n  - api_version: v1\n", "p.yml")
    assert cfg.alerting.alertmanagers[0].api_version == "v1"
    assert any("alertmanagers[0].api_version" in w and "line 3" in w for w in cfg.warnings)


def test_unsupported_http_keys_warn_like_scrape_configs() -> None:
    cfg = parse_config("alerting:\n  alertmanagers:\n  - proxy_url: http://p:1\n", "p.yml")
    assert any("alerting.alertmanagers[0].proxy_url" in w for w in cfg.warnings)


@pytest.mark.parametrize(
    ("text", "key_path", "message"),
    [
        ("alerting:\n  foo: 1\n", "alerting.foo", "unknown key 'foo' (line 2)"),
        ("alerting:\n  alertmanagers:\n  - api_version: v3\n", "alerting.alertmanagers[0].api_version",
         "one of [v1 v2] but got v3 (line 3)"),
        ("alerting:\n  alertmanagers:\n  - scheme: ftp\n", "alerting.alertmanagers[0].scheme",
         "unknown scheme 'ftp'"),
        ("alerting:\n  alertmanagers:\n  - timeout: -1\n", "alerting.alertmanagers[0].timeout",
         "not a valid duration string"),
        ("alerting:\n  alertmanagers:\n  - timeout: 0s\n", "alerting.alertmanagers[0].timeout",
         "greater than 0"),
        ("alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['http://a:1']\n",
         "alerting.alertmanagers[0].static_configs[0].targets[0]", "is not a valid hostname"),
        ("alerting:\n  alertmanagers:\n  - relabel_configs: [null]\n",
         "alerting.alertmanagers[0].relabel_configs[0]", "empty or null Alertmanager target relabeling rule"),
        ("alerting:\n  alert_relabel_configs:\n  - null\n", "alerting.alert_relabel_configs[0]",
         "empty or null alert relabeling rule (line 3)"),
        ("alerting:\n  alert_relabel_configs:\n  - action: bogus\n", "alerting.alert_relabel_configs[0].action",
         "bogus"),
        ("alerting:\n  alertmanagers:\n  - basic_auth: {username: u, password: p}\n    bearer_token: t\n",
         "alerting.alertmanagers[0].basic_auth", "at most one of basic_auth"),
        ("alerting:\n  alertmanagers:\n  - dns_sd_configs: [{names: [a], type: A}]\n",
         "alerting.alertmanagers[0].dns_sd_configs[0]", "a port is required"),
    ],
)
def test_errors_name_file_key_path_and_line(text: str, key_path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "prom.yml")
    assert info.value.file == "prom.yml"
    assert info.value.key_path == key_path
    assert message in str(info.value)


def test_a_relabelled_static_target_may_carry_a_path_as_in_prometheus() -> None:
    text = ("alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['a:1/x']\n"
            "    relabel_configs:\n    - target_label: t\n      replacement: v\n")
    assert parse_config(text, "p.yml").alerting.alertmanagers[0].static_configs[0].targets == ("a:1/x",)


def test_dump_writes_the_section_back_without_secrets(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL))
    text = dump_config(cfg)
    assert "password: <secret>" in text and "password: p\n" not in text
    again = parse_config(text.replace("<secret>", "p"), "dump.yml")
    assert again.alerting == cfg.alerting


_targets = st.lists(
    st.builds(lambda h, p: f"{h}:{p}", st.sampled_from(["127.0.0.1", "am", "a-b.example"]),
              st.integers(1, 65535)),
    min_size=1, max_size=3,
)
_alertmanager = st.fixed_dictionaries(
    {"static_configs": st.lists(st.fixed_dictionaries({"targets": _targets}), min_size=1, max_size=2)},
    optional={
        "scheme": st.sampled_from(["http", "https"]),
        "path_prefix": st.sampled_from(["/", "/am", "/a/b/"]),
        "timeout": st.sampled_from(["1s", "1m30s", "500ms"]),
        "api_version": st.sampled_from(["v1", "v2"]),
    },
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_alertmanager, max_size=3))
def test_generated_sections_round_trip_through_the_dump(ams: list[dict[str, object]]) -> None:
    import yaml

    cfg = parse_config(yaml.safe_dump({"alerting": {"alertmanagers": ams}}), "gen.yml")
    assert len(cfg.alerting.alertmanagers) == len(ams)
    assert parse_config(dump_config(cfg), "dump.yml").alerting == cfg.alerting


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ("api_version: v1", True),
        ("api_version: v2", True),
        ("api_version: V2", False),
        ("timeout: 5s", True),
        ("timeout: -1", False),
        ("relabel_configs: [null]", False),
        ("follow_redirects: false", True),
        ("path_prefix: /x", True),
    ],
)
def test_accepts_and_rejects_what_promtool_does(tmp_path: Path, body: str, accepted: bool) -> None:
    promtool = require_tool("promtool", "prometheus")
    text = f"alerting:\n  alertmanagers:\n  - {body}\n    static_configs:\n    - targets: ['127.0.0.1:9093']\n"
    path = write(tmp_path, text)
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, timeout=60)
    assert (result.returncode == 0) is accepted, result.stderr
    if accepted:
        load_config(path)
    else:
        with pytest.raises(ConfigError):
            load_config(path)
