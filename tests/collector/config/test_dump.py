"""The config dump of /api/v1/status/config: remote_write with its credentials hidden."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from metricslib.collector.config.config import parse_config
from metricslib.collector.config.dump import dump_config
from metricslib.collector.config.remote_write import redact_url
from tests.helpers import free_port, http_get, require_tool, running

REMOTE = textwrap.dedent(
    """
    remote_write:
      - url: http://user:SECRETPW@127.0.0.1:9/api/write?x=1
      - url: http://127.0.0.1:9/second
        name: named
        remote_timeout: 10s
        basic_auth:
          username: bob
          password: hunter2
    """
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@h:1/w?q=1", "http://u:xxxxx@h:1/w?q=1"),
        ("https://u:p%40ss@h/w", "https://u:xxxxx@h/w"),
        ("http://u:@h/w", "http://u:xxxxx@h/w"),  # an empty password is still a password to Go
        ("http://token@h/w", "http://token@h/w"),  # no password: shown as is, as Go does
        ("http://h:9090/w", "http://h:9090/w"),
    ],
)
def test_url_passwords_are_redacted_as_go_does(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_remote_write_is_dumped_with_every_secret_hidden() -> None:
    cfg = parse_config(REMOTE + "    headers: {X-Api-Key: k3y}\n", "p.yml")
    text = dump_config(cfg)
    assert "SECRETPW" not in text and "hunter2" not in text and "k3y" not in text
    dumped = yaml.safe_load(text)["remote_write"]
    assert dumped[0]["url"] == "http://user:xxxxx@127.0.0.1:9/api/write?x=1"
    assert dumped[1]["basic_auth"] == {"username": "bob", "password": "<secret>"}
    assert dumped[1]["headers"] == {"X-Api-Key": "<secret>"}
    assert dumped[1]["remote_timeout"] == "10s" and dumped[1]["name"] == "named"
    again = parse_config(text, "dump.yml")  # the dump is a valid config
    assert [rw.name for rw in again.remote_write] == ["", "named"]
    assert "SECRETPW" not in repr(cfg.remote_write)


def test_scrape_credentials_hide_secrets_and_show_their_files(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    cfg = parse_config(textwrap.dedent(
        f"""
        scrape_configs:
          - job_name: a
            basic_auth: {{username: bob, password: hunter2}}
            static_configs: [{{targets: ["127.0.0.1:9"]}}]
          - job_name: b
            authorization: {{type: Bearer, credentials_file: {token}}}
            static_configs: [{{targets: ["127.0.0.1:9"]}}]
        """
    ), str(tmp_path / "p.yml"))
    text = dump_config(cfg)
    assert "hunter2" not in text and "t0ken" not in text
    jobs = yaml.safe_load(text)["scrape_configs"]
    assert jobs[0]["basic_auth"] == {"username": "bob", "password": "<secret>"}
    assert jobs[1]["authorization"] == {"type": "Bearer", "credentials_file": str(token)}


@pytest.mark.integration
def test_remote_write_urls_and_secrets_show_as_prometheus_shows_them(tmp_path: Path) -> None:
    binary = require_tool("prometheus", "prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(REMOTE)
    port = free_port()
    cmd = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
           f"--web.listen-address=127.0.0.1:{port}"]
    with running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60):
        _, _, body = http_get(f"http://127.0.0.1:{port}/api/v1/status/config")
    theirs = yaml.safe_load(json.loads(body)["data"]["yaml"])["remote_write"]
    ours = yaml.safe_load(dump_config(parse_config(REMOTE, "p.yml")))["remote_write"]
    for mine, real in zip(ours, theirs, strict=True):
        for key in ("url", "name", "basic_auth", "remote_timeout"):
            assert mine.get(key) == real.get(key), key
