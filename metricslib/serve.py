"""Serving ``/metrics``: one sans-I/O ``render`` shared by WSGI, ASGI and a standalone server.

``render(registry, accept, accept_encoding, query)`` returns ``(status,
headers, body)``; the three front ends only move bytes. Content negotiation
goes through ``exposition.choose_encoder`` (Prometheus text 0.0.4 or
OpenMetrics 1.0 by the ``Accept`` header), the body is gzipped when the client
accepts it, and ``?name[]=...`` restricts the output to those sample names like
``prometheus_client`` does. A registry joined to multi-worker aggregation with
``metricslib.multiprocess.setup`` is served aggregated automatically.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import exposition
from . import multiprocess as _mp
from .web_guard import GuardedConnection, GuardedServer, WebConfigFile, unauthorized

__all__ = [
    "MetricsHTTPServer",
    "make_asgi_app",
    "make_wsgi_app",
    "render",
    "start_http_server",
    "start_wsgi_server",
]

Headers = list[tuple[str, str]]
# Measured on 10,000 series (468 kB of text): level 1 takes 1.6 ms for 48.5 kB,
# level 6 5.6 ms for 51 kB, level 9 11.6 ms for 49.5 kB. Repetitive metric text
# compresses about as well at level 1 as at 9, for a seventh of the CPU.
_GZIP_LEVEL = 1
_OPENMETRICS = "application/openmetrics-text"


def _default_registry() -> Any:
    from .registry import REGISTRY

    return REGISTRY


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when ``Accept-Encoding`` lists gzip (or ``*``) with a non-zero q-value."""
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def _names_from_query(query: str | None) -> frozenset[str] | None:
    if not query:
        return None
    params = parse_qs(query)
    names = params.get("name[]")
    return frozenset(names) if names else None


def _restrict(families: Iterable[Any], names: frozenset[str]) -> list[Any]:
    from .model import MetricFamily

    out = []
    for fam in families:
        samples = [s for s in fam.samples if s.name in names]
        if samples:
            copy = MetricFamily.__new__(MetricFamily)
            copy.name, copy.documentation, copy.type, copy.unit = (
                fam.name,
                fam.documentation,
                fam.type,
                fam.unit,
            )
            copy.samples = samples
            out.append(copy)
    return out


def render(
    registry: Any = None,
    accept: str | None = None,
    accept_encoding: str | None = None,
    query: str | None = None,
) -> tuple[int, Headers, bytes]:
    """Status, headers and body for a ``GET /metrics`` with these request headers.

    ``registry`` defaults to ``metricslib.REGISTRY``; ``query`` is the raw query
    string (``name[]=a&name[]=b`` keeps only those sample names).
    """
    if registry is None:
        registry = _default_registry()
    encoder, content_type = exposition.choose_encoder(accept)
    names = _names_from_query(query)
    aggregated = _mp.aggregator_for(registry)
    if aggregated is None and names is None:
        body = encoder(registry)
    else:
        # Aggregated plain-data families render as they are: no per-sample conversion.
        families: list[Any] = (
            aggregated.collect_data() if aggregated is not None else list(registry.collect())
        )
        if names is not None:
            families = _restrict(families, names)
        if content_type.startswith(_OPENMETRICS):
            body = exposition.render_openmetrics(families)
        else:
            body = exposition.render_text(families)
    headers: Headers = [("Content-Type", content_type), ("Vary", "Accept, Accept-Encoding")]
    if accepts_gzip(accept_encoding):
        body = gzip.compress(body, compresslevel=_GZIP_LEVEL)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    return 200, headers, body


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}


def _plain(status: int, text: str, extra: Headers | None = None) -> tuple[int, Headers, bytes]:
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return status, headers + (extra or []), body


def _dispatch(
    registry: Any,
    method: str,
    path: str | None,
    accept: str | None,
    accept_encoding: str | None,
    query: str | None,
) -> tuple[int, Headers, bytes]:
    """Routing shared by the front ends; ``path`` None means "serve any path"."""
    if path is not None and path not in ("/", "/metrics"):
        return _plain(404, f"not found: {path}; metrics are at /metrics\n")
    if method not in ("GET", "HEAD"):
        return _plain(405, f"method {method} not allowed: use GET\n", [("Allow", "GET, HEAD")])
    status, headers, body = render(registry, accept, accept_encoding, query)
    return status, headers, (b"" if method == "HEAD" else body)


# --- WSGI ---------------------------------------------------------------------------------

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_wsgi_app(registry: Any = None) -> WSGIApp:
    """A WSGI app answering every path with the metrics (mount it where you like).

    ``/favicon.ico`` gets a 404 so browsers don't trigger a scrape per page view.
    """

    def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/favicon.ico":
            status, headers, body = _plain(404, "not found\n")
        else:
            status, headers, body = _dispatch(
                registry if registry is not None else _default_registry(),
                environ.get("REQUEST_METHOD", "GET"),
                None,
                environ.get("HTTP_ACCEPT"),
                environ.get("HTTP_ACCEPT_ENCODING"),
                environ.get("QUERY_STRING"),
            )
        start_response(f"{status} {_REASONS[status]}", headers)
        return [body]

    return metrics_app


# --- ASGI ---------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def make_asgi_app(registry: Any = None) -> ASGIApp:
    """An ASGI app serving the metrics on every path it is mounted at.

    Exposition runs in a worker thread (``run_in_executor``), so a large or
    slow registry — or a multi-worker scrape waiting on other workers — never
    blocks the event loop. Also answers the ``lifespan`` protocol so it can be
    run on its own (``uvicorn module:app``); at lifespan shutdown a worker
    joined to multi-worker aggregation archives its counts.
    """

    async def metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    # uvicorn ends a worker by re-raising SIGTERM, which skips
                    # atexit: archive this worker's counts now, requests are done.
                    reg = registry if registry is not None else _default_registry()
                    if _mp.aggregator_for(reg) is not None:
                        _mp.shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope.get("path") == "/favicon.ico":
            status, headers, body = _plain(404, "not found\n")
        else:
            reg = registry if registry is not None else _default_registry()
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            args = (
                reg,
                scope.get("method", "GET"),
                None,
                _header(scope, b"accept"),
                _header(scope, b"accept-encoding"),
                query,
            )
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not asyncio (e.g. trio): render inline
                status, headers, body = _dispatch(*args)
            else:
                status, headers, body = await loop.run_in_executor(None, _dispatch, *args)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return metrics_app


# --- standalone server --------------------------------------------------------------------


class MetricsHTTPServer(GuardedServer, ThreadingHTTPServer):
    """A threading HTTP server whose request threads never block interpreter exit.

    With ``web_config`` set (a ``--web.config.file``), connections get its TLS,
    basic auth and headers.
    """

    daemon_threads = True
    registry: Any = None


def write_whole_response(
    handler: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> None:
    """Send the status line, headers and body in one write.

    ``send_response``/``end_headers`` flush the headers on their own, and a
    second small write for the body waits for the client's delayed ACK
    (Nagle): ~40 ms per answer on a keep-alive connection, which is what
    Prometheus and Grafana use. ``headers`` must include Content-Length.
    """
    handler.log_request(status)
    reason = handler.responses.get(status, ("",))[0]
    lines = [
        f"{handler.protocol_version} {status} {reason}",
        f"Server: {handler.version_string()}",
        f"Date: {handler.date_time_string()}",
    ]
    for name, value in headers:
        lines.append(f"{name}: {value}")
        if name.lower() == "connection" and value.lower() == "close":
            handler.close_connection = True
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    handler.wfile.write(head if handler.command == "HEAD" else head + body)


class _Handler(GuardedConnection, BaseHTTPRequestHandler):
    server: MetricsHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _serve(self, method: str) -> None:
        self.refresh_web()
        if self.web is not None and not self.web.authorized(self.headers.get("Authorization")):
            status, headers, body = unauthorized()
            headers.append(("Content-Length", str(len(body))))
        else:
            parts = urlsplit(self.path)
            status, headers, body = _dispatch(
                self.server.registry,
                method,
                parts.path,
                self.headers.get("Accept"),
                self.headers.get("Accept-Encoding"),
                parts.query,
            )
        if self.web is not None:
            headers = headers + self.web.headers
        write_whole_response(self, status, headers, body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood stderr; stay quiet."""


def start_http_server(
    port: int,
    addr: str = "127.0.0.1",
    registry: Any = None,
    *,
    web_config_file: str | None = None,
) -> tuple[MetricsHTTPServer, threading.Thread]:
    """Serve ``/metrics`` (and ``/``) from a daemon thread; returns ``(server, thread)``.

    Binds 127.0.0.1 unless told otherwise (prometheus_client binds 0.0.0.0):
    pass ``addr="0.0.0.0"`` to let another host scrape. ``port=0`` picks a free
    port (``server.server_port``). Stop with ``server.shutdown(); server.server_close()``.

    ``web_config_file`` is a ``--web.config.file`` as Prometheus and the
    exporters read it (docs/web-config.md): TLS, basic auth, response headers.
    It is read now (a bad file raises ``ConfigError`` before anything listens)
    and again for new connections after it changed.
    """
    import socket

    web_config = WebConfigFile(web_config_file) if web_config_file else None

    class _Server(MetricsHTTPServer):
        address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    server = _Server((addr, port), _Handler)
    server.web_config = web_config
    server.registry = registry if registry is not None else _default_registry()
    thread = threading.Thread(
        target=server.serve_forever, name=f"metricslib-http-{server.server_port}", daemon=True
    )
    thread.start()
    return server, thread


start_wsgi_server = start_http_server  # prometheus_client's other name for the same thing
