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

import http.client
import time
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
        conn = open_connection(parts, lambda: remaining, tls or TLSConfig())
        path = request_target(parts)
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
    return time_left(deadline, "context deadline exceeded")


def _set_timeout(conn: http.client.HTTPConnection, deadline: float) -> None:
    left = _remaining(deadline)
    if conn.sock is not None:
        conn.sock.settimeout(left)
