"""Reading request heads and writing responses, without sockets."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.web.http11 import (
    MAX_HEADERS,
    MAX_LINE,
    HTTPError,
    format_response,
    read_request,
)


def read(raw: bytes):
    return read_request(io.BufferedReader(io.BytesIO(raw)))


def test_reads_the_request_line_and_lower_cased_headers() -> None:
    req = read(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip \r\n\r\n")
    assert req is not None
    assert (req.method, req.target, req.version) == ("GET", "/api/v1/query?query=up", "HTTP/1.1")
    assert req.headers == {"host": "x", "accept-encoding": "gzip"}
    assert req.keep_alive


def test_a_closed_connection_reads_as_none_and_leading_blank_lines_are_skipped() -> None:
    assert read(b"") is None
    req = read(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert req is not None and req.target == "/"


@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [("HTTP/1.1", "", True), ("HTTP/1.1", "close", False), ("HTTP/1.0", "", False), ("HTTP/1.0", "Keep-Alive", True)],
)
def test_keep_alive_follows_version_and_connection_header(version: str, connection: str, keep: bool) -> None:
    extra = f"Connection: {connection}\r\n" if connection else ""
    req = read(f"GET / {version}\r\n{extra}\r\n".encode())
    assert req is not None and req.keep_alive is keep


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n Host: folded\r\n\r\n", 400),
        (b"GET /" + b"a" * MAX_LINE + b" HTTP/1.1\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"h%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n", 431),
    ],
)
def test_unreadable_requests_raise_with_a_status(raw: bytes, status: int) -> None:
    with pytest.raises(HTTPError) as info:
        read(raw)
    assert info.value.status == status


def test_bodies_need_a_numeric_content_length() -> None:
    req = read(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n")
    assert req is not None and req.content_length() == 12
    for header, status in ((b"Transfer-Encoding: chunked", 411), (b"Content-Length: -1", 400)):
        req = read(b"POST / HTTP/1.1\r\n" + header + b"\r\n\r\n")
        assert req is not None
        with pytest.raises(HTTPError) as info:
            req.content_length()
        assert info.value.status == status


def test_responses_are_one_buffer_with_length_and_connection() -> None:
    out = format_response(200, [("Content-Type", "application/json")], b"{}", keep_alive=False)
    head, body = out.split(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Length: 2" in lines and b"Connection: close" in lines and b"Content-Type: application/json" in lines
    assert body == b"{}"
    head_only = format_response(200, [], b"{}", keep_alive=True, head_only=True)
    assert head_only.endswith(b"\r\n\r\n") and b"Content-Length: 2" in head_only and b"Connection" not in head_only


@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True), st.from_regex(r"[ -~]{0,40}", fullmatch=True), max_size=10))
def test_header_values_round_trip(headers: dict[str, str]) -> None:
    raw = b"GET / HTTP/1.1\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n"
    req = read(raw)
    assert req is not None
    expected: dict[str, str] = {}
    for k, v in headers.items():
        expected[k.lower()] = v.strip()
    assert req.headers == expected
