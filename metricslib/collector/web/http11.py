"""Just enough HTTP/1.1 for the collector's server: read one request, write one response.

``http.server`` parses headers with the email package and formats each
response line by line; for the API's small, frequent answers that was about
60 µs a request, more than evaluating many queries. This reads the request
line and headers with plain byte splits (bounded in size and count), and
writes status line, headers and body in one ``write``. Request bodies need a
``Content-Length`` (what Grafana, promtool and browsers send).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Protocol

__all__ = ["HTTPError", "RawRequest", "format_response", "read_request"]

class LineReader(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


MAX_LINE = 1024 * 1024  # request line or one header line: Go's DefaultMaxHeaderBytes, as Prometheus (long GET queries)
MAX_HEADERS = 100


class HTTPError(Exception):
    """A request this server cannot read; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RawRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"

    def content_length(self) -> int:
        if "transfer-encoding" in self.headers:
            raise HTTPError(411, "request bodies need a Content-Length (chunked bodies are not accepted)")
        raw = self.headers.get("content-length", "0") or "0"
        if not raw.isdigit():
            raise HTTPError(400, f"bad Content-Length {raw!r}")
        return int(raw)


def _line(rfile: LineReader) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise HTTPError(431, "request line or header too long")
    return line


def read_request(rfile: LineReader) -> RawRequest | None:
    """The next request's head from a connection, or None when the client closed it."""
    line = _line(rfile)
    while line in (b"\r\n", b"\n"):  # RFC 9112 allows empty lines before a request
        line = _line(rfile)
    if not line:
        return None
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise HTTPError(400, f"bad request line {line[:80]!r}")
    method, target, version = (p.decode("latin-1") for p in parts)
    headers: dict[str, str] = {}
    while True:
        line = _line(rfile)
        if line in (b"\r\n", b"\n", b""):
            break
        if len(headers) >= MAX_HEADERS:
            raise HTTPError(431, "too many headers")
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise HTTPError(400, f"bad header line {line[:80]!r}")
        headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
    return RawRequest(method, target, version, headers)


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def format_response(
    status: int, headers: Iterable[tuple[str, str]], body: bytes, *, keep_alive: bool, head_only: bool = False
) -> bytes:
    """Status line, headers (plus Date, Server, Content-Length, Connection) and body as one buffer.

    One buffer means one ``write``: a separate small write for the body would wait
    for the client's delayed ACK (Nagle), ~40 ms on a keep-alive connection.
    """
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, '')}",
        "Server: metricslib",
        f"Date: {_date()}",
    ]
    if status != 204:  # RFC 9110: a 204 carries no Content-Length
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers]
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    # join, not +: a join of big buffers lets other threads run while it copies.
    return head if head_only else b"".join((head, body))
