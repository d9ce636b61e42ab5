"""How the scraper does HTTP: a small :class:`Transport` protocol and the
default implementation on the standard library (``http.client`` + ``ssl``).

Tests give the scraper a fake transport so they run without sockets; anything
with a matching ``fetch`` method will do (an httpx-backed one, say).

The timeout is a deadline for the *whole* exchange — connect, headers and
body — not a per-read socket timeout, so a target that trickles bytes cannot
hold a scrape past ``scrape_timeout``. ``max_body`` stops reading as soon as
the body passes the limit instead of buffering all of it first.

Connections are kept alive between scrapes, as Prometheus does: a fully read
response whose server did not ask to close leaves its connection idle for the
next request to the same host (at most ``_IDLE_PER_HOST`` per host, closed
after ``_IDLE_SECONDS`` unused). A new TCP connection per scrape cost about
as much CPU as appending the scrape's samples. A request on a kept connection
that the server has meanwhile closed is sent again once on a new one.
"""

from __future__ import annotations

import http.client
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from metricslib.collector.config.http_client import TLSConfig
from metricslib.collector.config.http_connect import open_connection, request_target, time_left

__all__ = ["BodyTooLarge", "HTTPTransport", "Transport", "TransportResponse"]

#: (status, headers with lower-case names, raw body as sent — maybe gzip-encoded)
TransportResponse = tuple[int, dict[str, str], bytes]

_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 10
_CHUNK = 64 * 1024
_IDLE_PER_HOST = 2
_IDLE_SECONDS = 90.0  # Go's default IdleConnTimeout, which Prometheus keeps
_PoolKey = tuple[str, str, TLSConfig]


class BodyTooLarge(ValueError):
    """The response body passed ``max_body`` bytes (the scrape fails)."""


class Transport(Protocol):
    def fetch(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        *,
        tls: TLSConfig | None = None,
        follow_redirects: bool = True,
        max_body: int = 0,
    ) -> TransportResponse:
        """GET ``url`` within ``timeout`` seconds; raises OSError/TimeoutError/
        http.client.HTTPException on failure, BodyTooLarge past ``max_body``."""
        ...


class HTTPTransport:
    """The default transport: keep-alive connections, shared by every scrape loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[_PoolKey, list[tuple[float, http.client.HTTPConnection]]] = {}
        self._swept = time.monotonic()
        # A transport dropped without close() still closes its idle sockets.
        weakref.finalize(self, _close_all, self._idle)

    def _take(self, key: _PoolKey) -> http.client.HTTPConnection | None:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                since, conn = idle.pop()
                if now - since < _IDLE_SECONDS:
                    return conn
                conn.close()
        return None

    def _give(self, key: _PoolKey, conn: http.client.HTTPConnection) -> None:
        now = time.monotonic()
        expired: list[http.client.HTTPConnection] = []
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < _IDLE_PER_HOST:
                idle.append((now, conn))
            else:
                expired.append(conn)
            if now - self._swept > _IDLE_SECONDS:  # targets that went away
                self._swept = now
                for k in list(self._idle):
                    keep = [(t, c) for t, c in self._idle[k] if now - t < _IDLE_SECONDS]
                    expired += [c for t, c in self._idle[k] if now - t >= _IDLE_SECONDS]
                    if keep:
                        self._idle[k] = keep
                    else:
                        del self._idle[k]
        for c in expired:
            c.close()

    def close(self) -> None:
        """Close the idle connections (the transport stays usable)."""
        with self._lock:
            _close_all(self._idle)

    def fetch(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        *,
        tls: TLSConfig | None = None,
        follow_redirects: bool = True,
        max_body: int = 0,
    ) -> TransportResponse:
        deadline = time.monotonic() + timeout
        for _ in range(_MAX_REDIRECTS + 1):
            status, resp_headers, body = self._once(url, headers, deadline, tls, max_body)
            location = resp_headers.get("location")
            if not (follow_redirects and status in _REDIRECTS and location):
                return status, resp_headers, body
            url = urljoin(url, location)
        raise http.client.HTTPException(f"stopped after {_MAX_REDIRECTS} redirects")

    def _once(
        self, url: str, headers: Mapping[str, str], deadline: float, tls: TLSConfig | None,
        max_body: int, reuse: bool = True,
    ) -> TransportResponse:
        parts = urlsplit(url)
        tls = tls or TLSConfig()
        key = (parts.scheme, parts.netloc, tls)
        conn = self._take(key) if reuse else None
        reused = conn is not None
        if conn is None:
            remaining = _remaining(deadline)
            conn = open_connection(parts, lambda: remaining, tls)
        path = request_target(parts)
        keep = False
        try:
            try:
                _set_timeout(conn, deadline)
                conn.request("GET", path, headers=dict(headers))
                _set_timeout(conn, deadline)
                resp = conn.getresponse()
            except (ConnectionError, http.client.ImproperConnectionState):  # RemoteDisconnected included
                if not reused:
                    raise
                # The server closed the idle connection: once more, on a new one.
                return self._once(url, headers, deadline, tls, max_body, reuse=False)
            resp_headers = {k.lower(): v for k, v in resp.getheaders()}
            chunks: list[bytes] = []
            size = 0
            while True:
                _set_timeout(conn, deadline)
                chunk = resp.read1(_CHUNK) if hasattr(resp, "read1") else resp.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if max_body and size > max_body:
                    raise BodyTooLarge(f"body size limit exceeded ({max_body} bytes)")
                chunks.append(chunk)
            keep = not resp.will_close
            resp.close()  # frees the connection for its next request
            return resp.status, resp_headers, b"".join(chunks)
        except TimeoutError as exc:
            raise TimeoutError(f"Get {url!r}: context deadline exceeded") from exc
        finally:
            if keep:
                self._give(key, conn)
            else:
                conn.close()


def _close_all(idle: dict[_PoolKey, list[tuple[float, http.client.HTTPConnection]]]) -> None:
    for conns in idle.values():
        for _, conn in conns:
            conn.close()
    idle.clear()


def _remaining(deadline: float) -> float:
    return time_left(deadline, "context deadline exceeded")


def _set_timeout(conn: http.client.HTTPConnection, deadline: float) -> None:
    left = _remaining(deadline)
    if conn.sock is not None:
        conn.sock.settimeout(left)
