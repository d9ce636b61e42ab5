from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.config.config import (
    check_config,
    check_config_cli,
    load_config,
    parse_byte_size,
    parse_config,
)
from metricslib.collector.config.dump import dump_config
from metricslib.collector.config.durations import format_duration
from metricslib.errors import ConfigError
from tests.helpers import require_tool

DATA = Path(__file__).parents[1] / "data"
FULL = DATA / "prometheus_full.yml"


def write(tmp_path: Path, text: str, name: str = "prometheus.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


# --- a file with every feature ----------------------------------------------------------


def test_full_file_loads_every_feature() -> None:
    cfg = load_config(FULL)
    g = cfg.global_config
    assert (g.scrape_interval, g.scrape_timeout, g.evaluation_interval) == (15_000, 10_000, 60_000)
    assert dict(g.external_labels) == {"cluster": "eu-1", "replica": "a"}
    assert [sc.job_name for sc in cfg.scrape_configs] == ["prometheus", "api", "basic", "bearer", "dns", "files"]

    api = cfg.scrape_configs[1]
    assert api.metrics_path == "/internal/metrics" and api.scheme == "https"
    assert dict(api.params) == {"format": ("prometheus", "extra"), "module": ("http_2xx",)}
    assert (api.scrape_interval, api.scrape_timeout) == (30_000, 20_000)
    assert api.honor_labels is True and api.honor_timestamps is False
    assert (api.sample_limit, api.label_limit, api.label_name_length_limit,
            api.label_value_length_limit) == (5000, 30, 100, 500)
    assert api.body_size_limit == 10 * 1024 * 1024
    assert api.http.authorization is not None
    assert api.http.authorization.credentials_file == str(DATA / "secrets" / "token")
    assert api.http.authorization.header() == "Bearer tok3n"
    tls = api.http.tls_config
    assert tls.ca_file == str(DATA / "secrets" / "ca.crt") and tls.server_name == "api.internal"
    assert api.static_configs[0].targets == ("127.0.0.1:8443", "127.0.0.2:8443")
    assert dict(api.static_configs[0].labels) == {"team": "payments", "env": "prod"}
    assert [r.action for r in api.relabel_configs] == [
        "replace", "replace", "hashmod", "keep", "drop", "labelmap", "labeldrop", "labelkeep",
        "lowercase", "uppercase", "keepequal", "dropequal"]
    assert api.relabel_configs[1].separator == "-"
    assert api.relabel_configs[2].modulus == 4
    assert [r.action for r in api.metric_relabel_configs] == ["drop", "labeldrop"]

    basic = cfg.scrape_configs[2]
    assert basic.http.basic_auth is not None and basic.http.basic_auth.username == "scraper"
    assert basic.scrape_interval == 15_000 and basic.scrape_timeout == 10_000  # inherited
    bearer = cfg.scrape_configs[3]
    assert bearer.http.authorization is not None and bearer.http.authorization.type == "Bearer"

    dns = cfg.scrape_configs[4].dns_sd_configs
    assert [(d.type, d.port, d.refresh_interval) for d in dns] == [
        ("SRV", 0, 30_000), ("A", 8080, 30_000), ("AAAA", 8080, 90_000)]
    files = cfg.scrape_configs[5].file_sd_configs[0]
    assert files.files == (str(DATA / "sd" / "*.json"), str(DATA / "sd" / "*.yml"))
    assert files.refresh_interval == 300_000


def test_unimplemented_sections_are_accepted_with_warnings() -> None:
    warnings = "\n".join(load_config(FULL).warnings)
    assert "http_sd_configs" in warnings
    assert "alerting" not in warnings  # read by config/alerting.py
    assert "rule_files" not in warnings  # read here, loaded by the rules stage
    assert load_config(FULL).alerting.alertmanagers[0].static_configs[0].targets == ("127.0.0.1:9093",)


def test_rule_files_are_globs_relative_to_the_config_file(tmp_path: Path) -> None:
    assert load_config(FULL).rule_files == (str(DATA / "rules" / "*.yml"),)
    cfg = load_config(write(tmp_path, "global:\n  rule_query_offset: 30s\nrule_files: [a.yml, /abs/*.yml]\n"))
    assert cfg.rule_files == (str(tmp_path / "a.yml"), "/abs/*.yml")
    assert cfg.global_config.rule_query_offset == 30_000


def test_a_bad_rule_files_glob_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"invalid rule file path 'r\[.yml'.*line 3"):
        load_config(write(tmp_path, "rule_files:\n  - ok.yml\n  - r[.yml\n"))


def test_remote_write_section_is_read_by_the_remote_write_reader() -> None:
    cfg = load_config(FULL)
    assert [rw.url for rw in cfg.remote_write] == ["http://127.0.0.1:8428/api/v1/write"]


def test_promtool_accepts_the_same_file() -> None:
    promtool = require_tool("promtool", "prometheus")
    result = subprocess.run([promtool, "check", "config", str(FULL)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "snippet",
    [
        "scrape_configs:\n  - job_name: a\n    bogus: 1\n",
        "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x:1/m']\n",
        "global:\n  scrape_interval: 15\n",
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n",
    ],
)
def test_we_reject_what_promtool_rejects(tmp_path: Path, snippet: str) -> None:
    promtool = require_tool("promtool", "prometheus")
    path = write(tmp_path, snippet)
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, timeout=60)
    assert result.returncode != 0
    with pytest.raises(ConfigError):
        load_config(path)


# --- defaults -----------------------------------------------------------------------------


def test_empty_file_is_a_valid_config_with_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, ""))
    assert cfg.scrape_configs == ()
    assert (cfg.global_config.scrape_interval, cfg.global_config.scrape_timeout) == (60_000, 10_000)


def test_job_defaults_and_timeout_lowered_to_interval(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
        scrape_configs:
          - job_name: fast
            scrape_interval: 5s
          - job_name: plain
    """))
    fast, plain = cfg.scrape_configs
    assert (fast.scrape_interval, fast.scrape_timeout) == (5_000, 5_000)
    assert (plain.scrape_interval, plain.scrape_timeout) == (60_000, 10_000)
    assert (plain.metrics_path, plain.scheme, plain.honor_labels, plain.honor_timestamps) == (
        "/metrics", "http", False, True)
    assert plain.http.follow_redirects is True


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
        scrape_configs:
          - &base
            job_name: a
            scrape_interval: 7s
          - <<: *base
            job_name: b
    """))
    assert [(s.job_name, s.scrape_interval) for s in cfg.scrape_configs] == [("a", 7_000), ("b", 7_000)]


def test_urls_allowed_in_targets_when_relabelled(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
        scrape_configs:
          - job_name: blackbox
            static_configs:
              - targets: ["https://example.invalid/health"]
            relabel_configs:
              - source_labels: [__address__]
                target_label: __param_target
    """))
    assert cfg.scrape_configs[0].static_configs[0].targets == ("https://example.invalid/health",)


@pytest.mark.parametrize(("text", "size"), [("0", 0), ("512KB", 512 * 1024), ("10MiB", 10 << 20),
                                             ("1GB", 1 << 30), ("100B", 100)])
def test_byte_sizes(text: str, size: int) -> None:
    assert parse_byte_size(text) == size


# --- errors: file, key path, line --------------------------------------------------------


def test_unknown_key_names_file_key_path_and_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, """
        scrape_configs:
          - job_name: a
            scrape_intreval: 5s
    """)
    assert err.file.endswith("prometheus.yml")
    assert err.key_path == "scrape_configs[0].scrape_intreval"
    assert "unknown key 'scrape_intreval'" in str(err) and "(line 4)" in str(err)


def test_bad_target_names_its_index(tmp_path: Path) -> None:
    err = error_of(tmp_path, """
        scrape_configs:
          - job_name: a
          - job_name: b
          - job_name: c
            static_configs:
              - targets:
                  - "127.0.0.1:1"
                  - "http://127.0.0.1:2/metrics"
    """)
    assert err.key_path == "scrape_configs[2].static_configs[0].targets[1]"
    assert "not a valid hostname" in str(err) and "(line 9)" in str(err)


@pytest.mark.parametrize(
    ("text", "key_path", "reason"),
    [
        ("global:\n  scrape_interval: 1.5m\n", "global.scrape_interval", "not a valid duration"),
        ("global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n", "global.scrape_timeout",
         "greater than global scrape interval"),
        ("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
         "scrape_configs[0].scrape_timeout", "greater than scrape interval"),
        ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "scrape_configs[1]",
         "multiple scrape configs with job name 'a'"),
        ("scrape_configs:\n  - scrape_interval: 5s\n", "scrape_configs[0]", "job_name is empty"),
        ("scrape_configs:\n  - job_name: a\n    scheme: ftp\n", "scrape_configs[0].scheme", "unknown scheme"),
        ("scrape_configs:\n  - job_name: a\n    sample_limit: lots\n", "scrape_configs[0].sample_limit",
         "expected an integer"),
        ("scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n", "scrape_configs[0].honor_labels",
         "expected true or false"),
        ("scrape_configs:\n  - job_name: a\n    body_size_limit: huge\n",
         "scrape_configs[0].body_size_limit", "not a valid byte size"),
        ("scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {1bad: x}\n",
         "scrape_configs[0].static_configs[0].labels.1bad", "not a valid label name"),
        ("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n",
         "scrape_configs[0].relabel_configs[0]", "requires non-zero modulus"),
        ("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '('\n        target_label: x\n",
         "scrape_configs[0].relabel_configs[0].regex", "invalid regex"),
        ("scrape_configs:\n  - job_name: a\n    bearer_token: x\n    bearer_token_file: /nonexistent\n",
         "scrape_configs[0].bearer_token_file", "does not exist"),
        ("scrape_configs:\n  - job_name: a\n    bearer_token: x\n    basic_auth: {username: u}\n",
         "scrape_configs[0].basic_auth", "at most one of basic_auth"),
        ("scrape_configs:\n  - job_name: a\n    authorization: {type: Basic, credentials: x}\n",
         "scrape_configs[0].authorization.type", "use \"basic_auth\" instead"),
        ("scrape_configs:\n  - job_name: a\n    dns_sd_configs:\n      - names: [x]\n        type: A\n",
         "scrape_configs[0].dns_sd_configs[0]", "a port is required"),
        ("scrape_configs:\n  - job_name: a\n    dns_sd_configs:\n      - names: [x]\n        type: TXT\n",
         "scrape_configs[0].dns_sd_configs[0].type", "invalid DNS-SD records type"),
        ("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: [targets.txt]\n",
         "scrape_configs[0].file_sd_configs[0].files[0]", "not valid for file discovery"),
        ("scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: /etc/hostname}\n",
         "scrape_configs[0].tls_config", "cert_file and key_file"),
        ("global:\n  external_labels: {__name__: x}\n", "global.external_labels.__name__",
         "not allowed in external_labels"),
        ("scrape_configs: {job_name: a}\n", "scrape_configs", "expected a list"),
        ("what: 1\n", "what", "unknown key 'what'"),
        ("scrape_configs:\n  - job_name: a\n    job_name: b\n", "scrape_configs[0].job_name", "given twice"),
    ],
)
def test_errors_name_key_path_and_reason(tmp_path: Path, text: str, key_path: str, reason: str) -> None:
    err = error_of(tmp_path, text)
    assert err.key_path == key_path, str(err)
    assert reason in str(err)
    assert "(line " in str(err)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, "scrape_configs:\n  - job_name: a\n   bad: [\n")
    assert "invalid YAML" in str(err) and "line" in str(err)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yml")


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, """
        scrape_configs:
          - job_name: a
            foo: 1
          - job_name: b
            scrape_interval: soon
    """)
    _, problems = check_config(path)
    assert [p.key_path for p in problems] == ["scrape_configs[0].foo", "scrape_configs[1].scrape_interval"]
    with pytest.raises(ConfigError, match=r"and 1 more problems"):
        load_config(path)


def test_parse_config_resolves_files_against_base_dir(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("abc\n")
    cfg = parse_config("scrape_configs:\n  - job_name: a\n    bearer_token_file: tok\n", "x.yml",
                       base_dir=str(tmp_path))
    auth = cfg.scrape_configs[0].http.authorization
    assert auth is not None and auth.credentials_file == os.path.join(str(tmp_path), "tok")


# --- CLI and dump ---------------------------------------------------------------------------


def test_check_config_cli_success(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config_cli(str(FULL)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"SUCCESS: {FULL} is valid prometheus config file syntax")


def test_check_config_cli_failure_lists_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "scrape_configs:\n  - job_name: a\n    foo: 1\n    bar: 2\n")
    assert check_config_cli(str(path)) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err
    assert "scrape_configs[0].foo: unknown key 'foo' (line 3)" in err
    assert "scrape_configs[0].bar: unknown key 'bar' (line 4)" in err


def test_cli_entry_point(tmp_path: Path) -> None:
    from metricslib.cli import main

    assert main(["check", "config", str(FULL)]) == 0
    assert main(["check", "config", str(write(tmp_path, "bogus: 1\n"))]) == 1


def test_dump_hides_secrets_and_reloads_to_the_same_config(tmp_path: Path) -> None:
    cfg = load_config(FULL)
    text = dump_config(cfg)
    assert "s3cret" not in text and "<secret>" in text
    again = parse_config(text.replace("<secret>", "s3cret"), "dump.yml")
    assert again.scrape_configs == cfg.scrape_configs
    assert again.global_config == cfg.global_config


# --- properties -------------------------------------------------------------------------------

_names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
_values = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
_durations_ms = st.integers(min_value=1, max_value=10 * 86_400_000)


@st.composite
def _scrape_config(draw: st.DrawFn, job: str) -> dict[str, object]:
    interval = draw(_durations_ms)
    sc: dict[str, object] = {
        "job_name": job,
        "scrape_interval": format_duration(interval),
        "scrape_timeout": format_duration(draw(st.integers(min_value=1, max_value=interval))),
        "honor_labels": draw(st.booleans()),
        "sample_limit": draw(st.integers(min_value=0, max_value=10**6)),
        "static_configs": [{
            "targets": draw(st.lists(st.from_regex(r"[a-z0-9.-]{1,12}:[0-9]{1,5}", fullmatch=True), max_size=3)),
            "labels": draw(st.dictionaries(_names, _values, max_size=3)),
        }],
    }
    if draw(st.booleans()):
        sc["relabel_configs"] = [{
            "source_labels": draw(st.lists(_names, max_size=2)),
            "target_label": draw(_names),
            "replacement": "${1}-" + draw(_names),
        }, {"action": "hashmod", "source_labels": ["__address__"], "target_label": "shard",
            "modulus": draw(st.integers(min_value=1, max_value=100))}]
    return sc


@st.composite
def _config(draw: st.DrawFn) -> dict[str, object]:
    jobs = draw(st.lists(_names, min_size=0, max_size=4, unique=True))
    return {
        "global": {"external_labels": draw(st.dictionaries(_names, _values, max_size=2))},
        "scrape_configs": [draw(_scrape_config(job)) for job in jobs],
    }


@settings(max_examples=30, deadline=None)
@given(_config())
def test_generated_configs_load_and_round_trip_through_the_dump(doc: dict[str, object]) -> None:
    cfg = parse_config(yaml.safe_dump(doc), "gen.yml")
    again = parse_config(dump_config(cfg), "dump.yml")
    assert again.scrape_configs == cfg.scrape_configs
    assert again.global_config == cfg.global_config


_yaml_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                       st.sampled_from(["15s", "1m", "0", "-1", "10MB", "job", "SRV", "replace"]))
_keys = st.sampled_from(["global", "scrape_configs", "job_name", "static_configs", "targets", "labels",
                         "scrape_interval", "scrape_timeout", "relabel_configs", "action", "regex",
                         "dns_sd_configs", "file_sd_configs", "files", "names", "port", "basic_auth",
                         "tls_config", "params", "sample_limit", "x"])
_yaml_doc = st.recursive(_yaml_leaf, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(_keys, children, max_size=4)), max_leaves=20)


@settings(max_examples=120, deadline=None)
@given(_yaml_doc)
def test_any_yaml_document_gives_a_config_or_a_config_error(doc: object) -> None:
    try:
        parse_config(yaml.safe_dump(doc), "fuzz.yml")
    except ConfigError as exc:
        assert exc.file == "fuzz.yml"
