"""Opening one HTTP(S) connection for an :class:`HTTPClientConfig`: the TLS
context, ``tls_config.server_name``, and a deadline for the whole exchange.

The scraper's transport (GET) and the notifier's poster (POST) both open their
connections here, so a TLS setting means the same to a scrape target and to an
Alertmanager; they, and remote write, take the Authorization header from
:func:`auth_headers`.
"""

from __future__ import annotations

import base64
import functools
import http.client
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import SplitResult

from metricslib.collector.config.http_client import HTTPClientConfig, TLSConfig

__all__ = ["HTTPSConnection", "auth_headers", "open_connection", "request_target", "ssl_context", "time_left"]


def auth_headers(client: HTTPClientConfig) -> dict[str, str]:
    """The Authorization header of ``basic_auth`` / ``authorization`` (files read on every call,
    so rotated credentials are picked up); OSError when such a file cannot be read."""
    if client.basic_auth is not None:
        basic = client.basic_auth
        token = base64.b64encode(f"{basic.username}:{basic.resolve_password()}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if client.authorization is not None:
        return {"Authorization": client.authorization.header()}
    return {}


@functools.lru_cache(maxsize=64)
def ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls.ca_file or None)
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class HTTPSConnection(http.client.HTTPSConnection):
    """Lets ``tls_config.server_name`` differ from the host we connect to."""

    def __init__(self, host: str, port: int | None, timeout: float, context: ssl.SSLContext,
                 server_name: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._server_name = server_name or host
        self._ctx = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._server_name)


def time_left(deadline: float, message: str) -> float:
    """Seconds until ``deadline`` (a ``time.monotonic()`` value); TimeoutError(message) once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(message)
    return left


def open_connection(parts: SplitResult, timeout: Callable[[], float], tls: TLSConfig) -> http.client.HTTPConnection:
    """An unopened connection for an ``http``/``https`` URL; HTTPException for any other scheme.

    ``timeout`` is asked for only once the scheme is known to be good."""
    if parts.scheme == "https":
        return HTTPSConnection(parts.hostname or "", parts.port, timeout(), ssl_context(tls), tls.server_name)
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout())
    raise http.client.HTTPException(f"unsupported URL scheme {parts.scheme!r}")


def request_target(parts: SplitResult) -> str:
    """The path and query to put in the request line (``/`` for an empty path)."""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
