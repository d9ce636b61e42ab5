"""start_http_server(web_config_file=...) with real clients: curl, and Prometheus 2.42 scraping over TLS with basic auth."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from metricslib.errors import ConfigError
from metricslib.instruments import Counter
from metricslib.registry import Registry
from metricslib.serve import MetricsHTTPServer, start_http_server
from tests.helpers import free_port, http_get, require_tool, running
from tests.tls_clients import curl
from tests.tls_pki import PKI, make_pki

pytestmark = pytest.mark.integration

HASH = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def registry() -> Registry:
    reg = Registry()
    Counter("orders", "Orders placed.", registry=reg).inc(7)
    return reg


def write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[MetricsHTTPServer]]:
    servers: list[MetricsHTTPServer] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def start(servers: list[MetricsHTTPServer], web_yml: Path) -> str:
    server, _ = start_http_server(0, registry=registry(), web_config_file=str(web_yml))
    servers.append(server)
    return f"https://127.0.0.1:{server.server_port}/metrics"


def test_https_with_basic_auth_and_headers(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    web = tmp_path / "web.yml"
    write(
        web,
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n"
        f"basic_auth_users:\n  alice: '{HASH}'\n",
    )
    url = start(serve, web)

    ok = curl(url, "--cacert", pki.ca, "-u", "alice:wonderland", tmp=tmp_path)
    assert ok.status == 200 and b"orders_total 7.0" in ok.body
    assert ok.headers["x-frame-options"] == "deny" and ok.headers["x-content-type-options"] == "nosniff"

    for auth in ([], ["-u", "alice:wrong"], ["-u", "bob:wonderland"], ["-H", "Authorization: Bearer x"]):
        denied = curl(url, "--cacert", pki.ca, *auth, tmp=tmp_path)
        assert denied.status == 401, auth
        assert denied.headers["www-authenticate"] == "Basic"
        assert denied.body == b"Unauthorized\n"  # nothing of the metrics
        assert denied.headers["x-frame-options"] == "deny"
    # HEAD and other paths are guarded too.
    assert curl(url, "--cacert", pki.ca, "-I", tmp=tmp_path).status == 401
    assert curl(url.replace("/metrics", "/other"), "--cacert", pki.ca, tmp=tmp_path).status == 401

    # The server's certificate is checked by the client: without the CA, curl refuses it.
    untrusted = curl(url, "-u", "alice:wonderland", tmp=tmp_path)
    assert untrusted.exit_code == 60 and untrusted.status == 0
    # Plain HTTP to the TLS port gets Go's plain-text 400, and nothing else.
    plain = curl(url.replace("https:", "http:"), "-u", "alice:wonderland", tmp=tmp_path)
    assert plain.status == 400 and plain.body == b"Client sent an HTTP request to an HTTPS server.\n"


def test_client_certificates_when_required(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    web = tmp_path / "web.yml"
    write(
        web,
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n",
    )
    url = start(serve, web)
    ok = curl(url, "--cacert", pki.ca, "--cert", pki.client_cert, "--key", pki.client_key, tmp=tmp_path)
    assert ok.status == 200 and b"orders_total 7.0" in ok.body
    missing = curl(url, "--cacert", pki.ca, tmp=tmp_path)
    assert missing.exit_code != 0 and missing.status == 0
    stranger = curl(url, "--cacert", pki.ca, "--cert", pki.other_client_cert, "--key", pki.other_client_key, tmp=tmp_path)
    assert stranger.exit_code != 0 and stranger.status == 0


def test_tls_versions_from_the_file(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    web = tmp_path / "web.yml"
    write(web, f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n  min_version: TLS13\n")
    url = start(serve, web)
    assert curl(url, "--cacert", pki.ca, "--tlsv1.3", tmp=tmp_path).status == 200
    old = curl(url, "--cacert", pki.ca, "--tls-max", "1.2", tmp=tmp_path)
    assert old.exit_code != 0 and old.status == 0


def test_the_file_is_reread_for_new_connections(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    web = tmp_path / "web.yml"
    tls = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
    write(web, tls + f"basic_auth_users:\n  alice: '{HASH}'\n")
    url = start(serve, web)
    assert curl(url, "--cacert", pki.ca, "-u", "alice:wonderland", tmp=tmp_path).status == 200
    new_hash = bcrypt.hashpw(b"looking-glass", bcrypt.gensalt(rounds=4)).decode()
    write(web, tls + f"basic_auth_users:\n  bob: '{new_hash}'\n")
    assert curl(url, "--cacert", pki.ca, "-u", "alice:wonderland", tmp=tmp_path).status == 401
    assert curl(url, "--cacert", pki.ca, "-u", "bob:looking-glass", tmp=tmp_path).status == 200
    # A broken file: the last good one keeps serving.
    write(web, tls + "basic_auth_users:\n  bob: not-a-hash\n")
    assert curl(url, "--cacert", pki.ca, "-u", "bob:looking-glass", tmp=tmp_path).status == 200
    # Removing the users opens the endpoint, as exporter-toolkit does.
    write(web, tls)
    assert curl(url, "--cacert", pki.ca, tmp=tmp_path).status == 200


def test_a_bad_file_stops_the_start(tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    write(web, "tls_server_config:\n  cert_file: a.crt\n")
    with pytest.raises(ConfigError, match=r"web\.yml: tls_server_config\.key_file: missing key_file \(line 2\)"):
        start_http_server(0, registry=registry(), web_config_file=str(web))


# --- Prometheus 2.42 scraping over TLS with basic auth and a client certificate -------------


def query(base: str, promql: str) -> list[dict[str, object]]:
    status, _, body = http_get(f"{base}/api/v1/query?query={urllib.parse.quote(promql)}")
    assert status == 200, body
    result: list[dict[str, object]] = json.loads(body)["data"]["result"]
    return result


def test_prometheus_scrapes_over_tls_with_basic_auth(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    binary = require_tool("prometheus", "prometheus")
    web = tmp_path / "web.yml"
    write(
        web,
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"
        f"basic_auth_users:\n  alice: '{HASH}'\n",
    )
    target = urllib.parse.urlsplit(start(serve, web)).netloc

    def job(name: str, password: str, client_cert: bool = True) -> str:
        cert = f"      cert_file: {pki.client_cert}\n      key_file: {pki.client_key}\n" if client_cert else ""
        return (
            f"  - job_name: {name}\n    scheme: https\n"
            f"    basic_auth:\n      username: alice\n      password: {password}\n"
            f"    tls_config:\n      ca_file: {pki.ca}\n{cert}"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )

    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
        + job("app", "wonderland")
        + job("wrong_password", "guess")
        + job("no_client_cert", "wonderland", client_cert=False)
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
           f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with running(cmd, ready_url=f"{base}/-/ready", timeout=30):
        deadline = time.monotonic() + 30
        while len(query(base, "up")) < 3 or not query(base, 'orders_total{job="app"}'):
            assert time.monotonic() < deadline, query(base, "up")
            time.sleep(0.25)
        up = {str(r["metric"]["job"]): float(r["value"][1]) for r in query(base, "up")}  # type: ignore[index]
        assert up == {"app": 1.0, "wrong_password": 0.0, "no_client_cert": 0.0}
        (orders,) = query(base, 'orders_total{job="app"}')
        assert float(orders["value"][1]) == 7.0  # type: ignore[index]
        assert query(base, 'orders_total{job!="app"}') == []


def test_clients_that_hang_up_mid_session_leave_no_traceback(
    tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer], capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import ssl

    web = tmp_path / "web.yml"
    write(web, f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n")
    url = start(serve, web)
    port = int(urllib.parse.urlsplit(url).port or 0)
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        conn = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        os.close(conn.detach())  # gone without a TLS close_notify, the answer unread
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x05hello")  # a broken handshake
    assert curl(url, "--cacert", pki.ca, tmp=tmp_path).status == 200  # still serving
    time.sleep(0.5)  # let the server threads of the two bad clients finish
    assert "Traceback" not in capfd.readouterr().err


def test_a_kept_alive_connection_sees_new_users(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    import base64
    import http.client
    import ssl

    web = tmp_path / "web.yml"
    tls = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
    write(web, tls + f"basic_auth_users:\n  alice: '{HASH}'\n")
    port = int(urllib.parse.urlsplit(start(serve, web)).port or 0)
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl.create_default_context(cafile=str(pki.ca)))
    alice = {"Authorization": "Basic " + base64.b64encode(b"alice:wonderland").decode()}

    def get() -> int:
        conn.request("GET", "/metrics", headers=alice)
        response = conn.getresponse()
        response.read()
        return response.status

    try:
        assert get() == 200
        sock = conn.sock
        write(web, tls + "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
              + f"basic_auth_users:\n  bob: '{HASH}'\n")
        assert get() == 401  # as exporter-toolkit: users are checked against the file at each request
        assert conn.sock is sock  # on the same connection
    finally:
        conn.close()


def test_client_certificate_if_given(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    web = tmp_path / "web.yml"
    write(
        web,
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {pki.ca}\n",
    )
    url = start(serve, web)
    assert curl(url, "--cacert", pki.ca, tmp=tmp_path).status == 200
    assert curl(url, "--cacert", pki.ca, "--cert", pki.client_cert, "--key", pki.client_key, tmp=tmp_path).status == 200
    stranger = curl(url, "--cacert", pki.ca, "--cert", pki.other_client_cert, "--key", pki.other_client_key, tmp=tmp_path)
    assert stranger.exit_code != 0 and stranger.status == 0


def test_cipher_suites_from_the_file(tmp_path: Path, pki: PKI, serve: list[MetricsHTTPServer]) -> None:
    web = tmp_path / "web.yml"
    write(
        web,
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n",
    )
    url = start(serve, web)
    allowed = curl(url, "--cacert", pki.ca, "--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384", tmp=tmp_path)
    assert allowed.status == 200
    other = curl(url, "--cacert", pki.ca, "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", tmp=tmp_path)
    assert other.exit_code != 0 and other.status == 0
