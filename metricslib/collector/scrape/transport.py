"""How the scraper does HTTP: a small :class:`Transport` protocol and the
default implementation on the standard library (``http.client`` + ``ssl``).

Tests give the scraper a fake transport so they run without sockets; anything
with a matching ``fetch`` method will do (an httpx-backed one, say).

The timeout is a deadline for the *whole* exchange — connect, headers and
body — not a per-read socket timeout, so a target that trickles bytes cannot
hold a scrape past ``scrape_timeout``. ``max_body`` stops reading as soon as
the body passes the limit instead of buffering all of it first.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from metricslib.collector.config.http_client import TLSConfig

__all__ = ["BodyTooLarge", "HTTPTransport", "Transport", "TransportResponse"]

#: (status, headers with lower-case names, raw body as sent — maybe gzip-encoded)
TransportResponse = tuple[int, dict[str, str], bytes]

_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 10
_CHUNK = 64 * 1024


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


@functools.lru_cache(maxsize=64)
def _ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls.ca_file or None)
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _HTTPSConnection(http.client.HTTPSConnection):
    """Lets ``tls_config.server_name`` differ from the host we connect to."""

    def __init__(self, host: str, port: int | None, timeout: float, context: ssl.SSLContext,
                 server_name: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._server_name = server_name or host
        self._ctx = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._server_name)


class HTTPTransport:
    """The default transport: one short-lived connection per scrape."""

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
        max_body: int,
    ) -> TransportResponse:
        parts = urlsplit(url)
        remaining = _remaining(deadline)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            cfg = tls or TLSConfig()
            conn = _HTTPSConnection(parts.hostname or "", parts.port, remaining, _ssl_context(cfg),
                                    cfg.server_name)
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=remaining)
        else:
            raise http.client.HTTPException(f"unsupported URL scheme {parts.scheme!r}")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.request("GET", path, headers=dict(headers))
            _set_timeout(conn, deadline)
            resp = conn.getresponse()
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
            return resp.status, resp_headers, b"".join(chunks)
        except TimeoutError as exc:
            raise TimeoutError(f"Get {url!r}: context deadline exceeded") from exc
        finally:
            conn.close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("context deadline exceeded")
    return left


def _set_timeout(conn: http.client.HTTPConnection, deadline: float) -> None:
    left = _remaining(deadline)
    if conn.sock is not None:
        conn.sock.settimeout(left)
