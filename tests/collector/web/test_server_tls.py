"""``metricslib collector --web.config.file``: the API and UI over TLS with basic auth, with real clients.

promtool 2.42 queries the collector over https (its CA from ``SSL_CERT_FILE``,
which Go reads, the credentials in the URL, which Go's client sends as basic
auth: promtool 2.42 has no ``--http.config.file``); curl shows what requests
without credentials get; the collector scrapes itself through the same door.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from tests.helpers import PYTHON, REPO_ROOT, free_port, require_tool, stop_process
from tests.tls_clients import curl, wait_for_curl
from tests.tls_pki import PKI, make_pki

pytestmark = pytest.mark.integration

HASH = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def collector_cmd(config: Path, data: Path, port: int, web: Path) -> list[str]:
    return [PYTHON, "-m", "metricslib", "collector", "--config", str(config), "--data-dir", str(data),
            "--listen", f"127.0.0.1:{port}", "--flush-interval", "1s", "--web.config.file", str(web)]


@pytest.fixture
def collector(tmp_path: Path, pki: PKI) -> Iterator[tuple[str, Path]]:
    port = free_port()
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=63072000\n"
        f"basic_auth_users:\n  alice: '{HASH}'\n"
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    scheme: https\n"
        "    basic_auth:\n      username: alice\n      password: wonderland\n"
        f"    tls_config:\n      ca_file: {pki.ca}\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with open(tmp_path / "collector.log", "wb") as log:
        proc = subprocess.Popen(collector_cmd(config, tmp_path / "data", port, web), env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"https://127.0.0.1:{port}"
            wait_for_curl(f"{base}/-/ready", "--cacert", pki.ca, "-u", "alice:wonderland", tmp=tmp_path)
            yield base, tmp_path
        finally:
            stop_process(proc)


def promtool_query(base: str, expr: str, ca: Path) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "prometheus")
    url = base.replace("https://", "https://alice:wonderland@")
    env = {**os.environ, "SSL_CERT_FILE": str(ca)}
    return subprocess.run([promtool, "query", "instant", "-o", "json", url, expr],
                          capture_output=True, text=True, timeout=30, env=env)


def test_promtool_queries_over_https_with_basic_auth(collector: tuple[str, Path], pki: PKI) -> None:
    base, _ = collector
    result = promtool_query(base, "1 + 1", pki.ca)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[1] == "2"  # a scalar: [time, value]
    # The collector scraped itself through TLS and basic auth: up == 1.
    deadline = time.monotonic() + 30
    while True:
        result = promtool_query(base, 'up{job="self"}', pki.ca)
        assert result.returncode == 0, result.stderr
        samples = json.loads(result.stdout)
        if samples:
            break
        assert time.monotonic() < deadline, "the collector never scraped itself"
        time.sleep(0.3)
    assert [s["value"][1] for s in samples] == ["1"]


def test_promtool_without_credentials_is_refused(collector: tuple[str, Path], pki: PKI) -> None:
    base, _ = collector
    promtool = require_tool("promtool", "prometheus")
    env = {**os.environ, "SSL_CERT_FILE": str(pki.ca)}
    result = subprocess.run([promtool, "query", "instant", base, "up"], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode != 0 and "401" in result.stdout + result.stderr


@pytest.mark.parametrize("path", ["/api/v1/query?query=up", "/metrics", "/graph", "/-/healthy", "/federate?match[]=up"])
def test_every_route_needs_credentials(collector: tuple[str, Path], pki: PKI, path: str) -> None:
    base, tmp = collector
    for auth in ([], ["-u", "alice:wrong"]):
        denied = curl(base + path, "--cacert", pki.ca, *auth, tmp=tmp)
        assert denied.status == 401
        assert denied.headers["www-authenticate"] == "Basic"
        assert denied.body == b"Unauthorized\n"
        assert denied.headers["strict-transport-security"] == "max-age=63072000"
    ok = curl(base + path, "--cacert", pki.ca, "-u", "alice:wonderland", tmp=tmp)
    assert ok.status in (200, 302)
    assert ok.headers["strict-transport-security"] == "max-age=63072000"


def test_post_without_credentials_does_not_reload(collector: tuple[str, Path], pki: PKI) -> None:
    base, tmp = collector
    denied = curl(f"{base}/-/reload", "--cacert", pki.ca, "-X", "POST", tmp=tmp)
    assert denied.status == 401 and denied.body == b"Unauthorized\n"


def test_bad_web_config_stops_the_start_with_one_line(tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  alice: plain\n")
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs: []\n")
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(collector_cmd(config, data, free_port(), web), capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"metricslib collector: {web}: basic_auth_users.alice: is not a bcrypt hash "
        "($2y$10$... as htpasswd -B makes) (line 2)"
    ]
    assert not data.exists()  # nothing created before the web config was read


def test_plain_http_to_the_tls_port_is_told_so(collector: tuple[str, Path]) -> None:
    base, tmp = collector
    plain = curl(base.replace("https:", "http:") + "/api/v1/query?query=up", "-u", "alice:wonderland", tmp=tmp)
    assert plain.status == 400 and plain.body == b"Client sent an HTTP request to an HTTPS server.\n"
