from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from metricslib.collector.config.http_client import Authorization, HTTPClientConfig, TLSConfig
from metricslib.collector.notifier.transport import HTTPPoster, auth_headers


class _Handler(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers.items()), body))
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "/api/v2/alerts")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 400 if self.path == "/bad" else 200
        payload = b'{"message":"bad alert"}' if status == 400 else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


SECRETS = Path(__file__).parents[1] / "data" / "secrets"


@contextmanager
def server(tls: bool = False) -> Iterator[str]:
    _Handler.received = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(SECRETS / "client.crt", SECRETS / "client.key")
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_posts_the_body_with_the_headers() -> None:
    with server() as base:
        status, _ = HTTPPoster().post(f"{base}/api/v2/alerts", b"[]", {"Content-Type": "application/json"},
                                      5.0, HTTPClientConfig())
    assert status == 200
    ((path, headers, body),) = _Handler.received
    assert (path, headers["Content-Type"], body) == ("/api/v2/alerts", "application/json", b"[]")


def test_a_307_is_followed_with_the_body_unless_disabled() -> None:
    with server() as base:
        status, _ = HTTPPoster().post(f"{base}/moved", b"[1]", {}, 5.0, HTTPClientConfig())
        assert status == 200
        assert [(p, b) for p, _, b in _Handler.received] == [("/moved", b"[1]"), ("/api/v2/alerts", b"[1]")]
        status, _ = HTTPPoster().post(f"{base}/moved", b"[1]", {}, 5.0, HTTPClientConfig(follow_redirects=False))
        assert status == 307


def test_an_error_status_comes_back_with_the_start_of_the_body() -> None:
    with server() as base:
        status, text = HTTPPoster().post(f"{base}/bad", b"[]", {}, 5.0, HTTPClientConfig())
    assert (status, json.loads(text)) == (400, {"message": "bad alert"})


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections, never answers
        port = listener.getsockname()[1]
        with pytest.raises(TimeoutError, match="deadline exceeded"):
            HTTPPoster().post(f"http://127.0.0.1:{port}/api/v2/alerts", b"[]", {}, 0.3, HTTPClientConfig())


def test_a_refused_connection_is_an_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        HTTPPoster().post(f"http://127.0.0.1:{port}/", b"[]", {}, 2.0, HTTPClientConfig())


def test_authorization_header_from_the_config() -> None:
    assert auth_headers(HTTPClientConfig()) == {}
    assert auth_headers(HTTPClientConfig(authorization=Authorization("Bearer", "tok"))) == {
        "Authorization": "Bearer tok"}


def test_https_with_the_tls_config() -> None:
    with server(tls=True) as base:
        insecure = HTTPClientConfig(tls_config=TLSConfig(insecure_skip_verify=True))
        assert HTTPPoster().post(f"{base}/api/v2/alerts", b"[]", {}, 5.0, insecure)[0] == 200
        wrong_name = HTTPClientConfig(tls_config=TLSConfig(ca_file=str(SECRETS / "ca.crt"), server_name="wrong.name"))
        with pytest.raises(ssl.SSLError):
            HTTPPoster().post(f"{base}/api/v2/alerts", b"[]", {}, 5.0, wrong_name)
