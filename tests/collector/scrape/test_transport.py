"""The stdlib transport against tiny socket servers on 127.0.0.1 (in-process threads)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from metricslib.collector.config.http_client import TLSConfig
from metricslib.collector.scrape.transport import BodyTooLarge, HTTPTransport

SECRETS = Path(__file__).parents[1] / "data" / "secrets"


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def server(handle: Callable[[socket.socket, bytes], None], tls: bool = False) -> Iterator[tuple[int, list[bytes]]]:
    requests: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(SECRETS / "client.crt", SECRETS / "client.key")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                if ctx is not None:
                    conn = ctx.wrap_socket(conn, server_side=True)
                conn.settimeout(5)
                request = _read_request(conn)
                requests.append(request)
                handle(conn, request)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], requests
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def respond(body: bytes, status: str = "200 OK", extra: str = "") -> Callable[[socket.socket, bytes], None]:
    def handle(conn: socket.socket, _: bytes) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n{extra}\r\n"
        conn.sendall(head.encode() + body)
    return handle


def test_fetch_returns_status_headers_body_and_sends_headers() -> None:
    with server(respond(b"up 1\n")) as (port, requests):
        status, headers, body = HTTPTransport().fetch(
            f"http://127.0.0.1:{port}/metrics?a=1", {"Accept": "text/plain", "X-Test": "yes"}, 5.0)
    assert (status, body) == (200, b"up 1\n")
    assert headers["content-type"] == "text/plain"
    assert requests[0].startswith(b"GET /metrics?a=1 HTTP/1.1\r\n")
    assert b"X-Test: yes\r\n" in requests[0]


def test_server_that_never_answers_times_out() -> None:
    def hang(conn: socket.socket, _: bytes) -> None:
        time.sleep(1)

    with server(hang) as (port, _), pytest.raises(TimeoutError, match="deadline exceeded"):
        HTTPTransport().fetch(f"http://127.0.0.1:{port}/", {}, 0.3)


def test_trickling_body_is_cut_by_the_overall_deadline() -> None:
    def trickle(conn: socket.socket, _: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(20):  # each byte within the socket timeout, the total far beyond it
            conn.sendall(b"x")
            time.sleep(0.05)

    with server(trickle) as (port, _), pytest.raises(TimeoutError):
        HTTPTransport().fetch(f"http://127.0.0.1:{port}/", {}, 0.3)


def test_body_over_limit_stops_reading() -> None:
    with server(respond(b"x" * 100_000)) as (port, _), pytest.raises(BodyTooLarge, match="1000 bytes"):
        HTTPTransport().fetch(f"http://127.0.0.1:{port}/", {}, 5.0, max_body=1000)


def test_redirects_followed_unless_disabled() -> None:
    def handle(conn: socket.socket, request: bytes) -> None:
        if request.startswith(b"GET /old"):
            respond(b"", "302 Found", "Location: /new\r\n")(conn, request)
        else:
            respond(b"moved here")(conn, request)

    with server(handle) as (port, _):
        assert HTTPTransport().fetch(f"http://127.0.0.1:{port}/old", {}, 5.0)[2] == b"moved here"
        assert HTTPTransport().fetch(f"http://127.0.0.1:{port}/old", {}, 5.0, follow_redirects=False)[0] == 302


def test_connection_refused_raises_oserror() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(OSError):
        HTTPTransport().fetch(f"http://127.0.0.1:{port}/", {}, 2.0)


def test_https_with_insecure_skip_verify() -> None:
    with server(respond(b"secure 1\n"), tls=True) as (port, _):
        status, _, body = HTTPTransport().fetch(
            f"https://127.0.0.1:{port}/", {}, 5.0, tls=TLSConfig(insecure_skip_verify=True))
    assert (status, body) == (200, b"secure 1\n")


def test_https_verifies_certificates_by_default() -> None:
    with server(respond(b"secure 1\n"), tls=True) as (port, _), pytest.raises(ssl.SSLError):
        HTTPTransport().fetch(f"https://127.0.0.1:{port}/", {}, 5.0,
                              tls=TLSConfig(ca_file=str(SECRETS / "ca.crt"), server_name="wrong.name"))


def test_connection_is_kept_alive_between_fetches() -> None:
    """Two scrapes, one TCP connection, as Prometheus does (the server answers both on it)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)
    accepted: list[int] = []

    def serve() -> None:
        conn, _ = listener.accept()
        accepted.append(1)
        with conn:
            conn.settimeout(5)
            for n in range(2):
                _read_request(conn)
                respond(f"n {n}\n".encode())(conn, b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    transport = HTTPTransport()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/metrics"
        assert transport.fetch(url, {}, 5.0)[2] == b"n 0\n"
        assert transport.fetch(url, {}, 5.0)[2] == b"n 1\n"
    finally:
        transport.close()
        thread.join(timeout=5)
        listener.close()
    assert accepted == [1]


def test_kept_connection_closed_by_the_server_is_replaced() -> None:
    # This server closes every connection after one answer: the second fetch
    # finds its kept connection dead and sends the request again on a new one.
    with server(respond(b"up 1\n")) as (port, requests):
        transport = HTTPTransport()
        try:
            for _ in range(3):
                assert transport.fetch(f"http://127.0.0.1:{port}/m", {}, 5.0)[2] == b"up 1\n"
        finally:
            transport.close()
    assert len(requests) == 3


def test_connection_close_is_honoured() -> None:
    with server(respond(b"x 1\n", extra="Connection: close\r\n")) as (port, requests):
        transport = HTTPTransport()
        for _ in range(2):
            assert transport.fetch(f"http://127.0.0.1:{port}/m", {}, 5.0)[2] == b"x 1\n"
        assert not transport._idle  # nothing kept for a server that said close
    assert len(requests) == 2
