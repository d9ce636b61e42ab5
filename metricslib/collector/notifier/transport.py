"""How the notifier does HTTP: a one-method :class:`Poster` protocol and its standard-library default.

Tests hand the manager a fake poster and run without sockets. The timeout is
a deadline for the whole exchange (connect, request, response), so an
Alertmanager that accepts the connection and then hangs costs at most the
``timeout`` of its ``alertmanagers`` entry, and only its own send loop.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from metricslib.collector.config.http_client import HTTPClientConfig, TLSConfig
from metricslib.collector.config.http_connect import (
    auth_headers,
    open_connection,
    request_target,
    time_left,
)

__all__ = ["HTTPPoster", "Poster", "auth_headers"]

_REDIRECTS = (307, 308)  # the ones that keep the POST body, as Go's client does
_MAX_REDIRECTS = 10
_MAX_ERROR_BODY = 1024


class Poster(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float,
             client: HTTPClientConfig) -> tuple[int, bytes]:
        """POST ``body`` within ``timeout`` seconds → (status, start of the response body).

        Raises OSError (TimeoutError included) or http.client.HTTPException on failure."""
        ...


def _left(deadline: float, url: str) -> float:
    return time_left(deadline, f"Post {url!r}: context deadline exceeded")


class HTTPPoster:
    """The default poster: one short-lived connection per batch."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float,
             client: HTTPClientConfig) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout
        for _ in range(_MAX_REDIRECTS + 1):
            status, location, text = self._once(url, body, headers, deadline, client.tls_config)
            if not (client.follow_redirects and status in _REDIRECTS and location):
                return status, text
            url = urljoin(url, location)
        raise http_client_error(f"stopped after {_MAX_REDIRECTS} redirects")

    def _once(self, url: str, body: bytes, headers: Mapping[str, str], deadline: float,
              tls: TLSConfig) -> tuple[int, str, bytes]:
        parts = urlsplit(url)
        conn = open_connection(parts, lambda: _left(deadline, url), tls)
        path = request_target(parts)
        try:
            conn.request("POST", path, body=body, headers=dict(headers))
            if conn.sock is not None:
                conn.sock.settimeout(_left(deadline, url))
            resp = conn.getresponse()
            if conn.sock is not None:
                conn.sock.settimeout(_left(deadline, url))
            text = resp.read(_MAX_ERROR_BODY)
            return resp.status, resp.getheader("location", "") or "", text
        except TimeoutError as exc:
            raise TimeoutError(f"Post {url!r}: context deadline exceeded") from exc
        finally:
            conn.close()


def http_client_error(message: str) -> http.client.HTTPException:
    return http.client.HTTPException(message)
