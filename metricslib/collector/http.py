"""The collector's HTTP server: a thin stdlib adapter over the sans-I/O handlers.

Routes: ``/api/v1/*`` (api.py), ``/federate``, ``/-/healthy``, ``/-/ready``,
``/-/reload`` (POST), ``/metrics`` (the collector's own metrics) and the web
UI (``/``, ``/graph``, ``/targets``, ``/static/*``).
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from metricslib.collector import ui
from metricslib.collector.api import PrometheusAPI, Request, Response
from metricslib.serve import write_whole_response

__all__ = ["CollectorHTTPServer", "Routes", "serve"]

# Form bodies larger than this are refused: queries are short, and an unbounded
# read would let one client exhaust memory.
MAX_BODY_BYTES = 1 << 20
_GZIP_MIN_BYTES = 1024


@dataclass
class Routes:
    """Everything the server can answer; each callable is sans-I/O and tested on its own."""

    api: PrometheusAPI
    federate: Callable[[Request], Response]
    reload: Callable[[], None]
    ready: Callable[[], bool]
    own_metrics: Callable[[str], Response]

    def dispatch(self, request: Request, accept: str) -> Response:
        path = request.path
        if path.startswith("/api/v1/"):
            return self.api.handle(request)
        if path == "/federate":
            return self.federate(request)
        if path == "/-/healthy":
            return Response(200, b"metricslib collector is Healthy.\n", "text/plain; charset=utf-8")
        if path == "/-/ready":
            if self.ready():
                return Response(200, b"metricslib collector is Ready.\n", "text/plain; charset=utf-8")
            return Response(503, b"Service Unavailable\n", "text/plain; charset=utf-8")
        if path == "/-/reload":
            return self._reload(request)
        if path == "/metrics":
            return self.own_metrics(accept)
        page = ui.page(path)
        if page is not None:
            content_type, body = page
            return Response(200, body, content_type, {"Cache-Control": "no-cache"})
        if path == "/":
            return Response(302, b"", "text/plain", {"Location": "/graph"})
        return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _reload(self, request: Request) -> Response:
        if request.method not in ("POST", "PUT"):
            return Response(405, b"Only POST or PUT requests allowed\n", "text/plain; charset=utf-8")
        try:
            self.reload()
        except ValueError as exc:  # ConfigError: the old configuration keeps running
            message = f"failed to reload config: {exc}\n"
            return Response(500, message.encode(), "text/plain; charset=utf-8")
        return Response(200, b"", "text/plain; charset=utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: CollectorHTTPServer
    protocol_version = "HTTP/1.1"
    # Keep-alive clients (Grafana, promtool) would otherwise wait ~40 ms per answer:
    # Nagle holds the body back until the client's delayed ACK of the headers.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if method in ("POST", "PUT"):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self._send(Response(413, b"request body too large\n", "text/plain", {"Connection": "close"}))
                return
            body = self.rfile.read(length) if length else b""
            if self.headers.get_content_type() == "application/x-www-form-urlencoded":
                for key, values in urllib.parse.parse_qs(
                    body.decode("utf-8", "replace"), keep_blank_values=True
                ).items():
                    params.setdefault(key, []).extend(values)
        request = Request(method, url.path, params)
        try:
            response = self.server.routes.dispatch(request, self.headers.get("Accept", ""))
        except Exception as exc:  # a bug must answer 500, not kill the connection silently
            self.server.log_error(f"{method} {url.path}: {exc!r}")
            payload = {"status": "error", "errorType": "internal", "error": str(exc)}
            response = Response(500, json.dumps(payload).encode())
        self._send(response)

    def _send(self, response: Response) -> None:
        body = response.body
        accepts_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "")
        headers = dict(response.headers)
        if accepts_gzip and len(body) >= _GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        write_whole_response(
            self,
            response.status,
            [
                ("Content-Type", response.content_type),
                ("Content-Length", str(len(body))),
                *headers.items(),
            ],
            body,
        )

    def log_message(self, format: str, *args: object) -> None:
        if self.server.access_log:
            super().log_message(format, *args)


class CollectorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], routes: Routes, *, access_log: bool = False) -> None:
        self.routes = routes
        self.access_log = access_log
        super().__init__(address, _Handler)

    def log_error(self, message: str) -> None:
        print(f"metricslib collector: {message}", file=sys.stderr)


def serve(host: str, port: int, routes: Routes) -> tuple[CollectorHTTPServer, threading.Thread]:
    """Start serving in a daemon thread; ``server.shutdown()`` stops it."""
    server = CollectorHTTPServer((host, port), routes)
    thread = threading.Thread(target=server.serve_forever, name="metricslib-http", daemon=True)
    thread.start()
    return server, thread
