"""The collector's HTTP server: a thin stdlib adapter over the sans-I/O handlers.

Routes: ``/api/v1/*`` (api.py; ``/api/v1/admin/*`` in api/admin.py), ``/federate``,
``/-/healthy``, ``/-/ready``, ``/-/reload`` and ``/-/quit`` (POST or PUT, only
with ``--web.enable-lifecycle``), ``/metrics`` (the collector's own metrics)
and the web UI (``/``, ``/graph``, ``/targets``, ``/static/*``), all under
``--web.route-prefix`` when one is set.

TLS, basic auth and response headers come from ``--web.config.file``
(:mod:`metricslib.web_guard`): the TLS handshake runs in the connection's own
thread, so a slow client blocks no one else, and credentials are checked
before any route answers.
"""

from __future__ import annotations

import gzip
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from metricslib.collector.web import ui
from metricslib.collector.web.api.v1 import PrometheusAPI, Request, Response
from metricslib.collector.web.http11 import HTTPError, RawRequest, format_response, read_request
from metricslib.collector.web.ui.dashboards import DashboardSet
from metricslib.web_guard import GuardedConnection, GuardedServer, WebConfigFile, unauthorized

__all__ = ["CollectorHTTPServer", "Routes", "listen_backlog", "serve"]

# Form bodies larger than this are refused: queries are short, and an unbounded
# read would let one client exhaust memory.
MAX_BODY_BYTES = 1 << 20
_GZIP_MIN_BYTES = 1024
# Level 1: a 10 MB range-query answer compresses in a third of level 5's time
# and comes out about a tenth larger; the answer reaches the client sooner on
# any link faster than a few hundred Mbit/s.
_GZIP_LEVEL = 1
_SEPARATE_BODY_BYTES = 1 << 20


@dataclass
class Routes:
    """Everything the server can answer; each callable is sans-I/O and tested on its own."""

    api: PrometheusAPI
    federate: Callable[[Request], Response]
    reload: Callable[[], None]
    ready: Callable[[], bool]
    own_metrics: Callable[[str], Response]
    dashboards: DashboardSet | None = None
    #: --web.enable-lifecycle: without it /-/reload and /-/quit answer 403 as Prometheus.
    lifecycle: bool = False
    quit: Callable[[], None] | None = None
    admin: Callable[[Request], Response] | None = None
    #: POST /api/v1/write (api/remote_write.py; answers 404 unless enabled)
    remote_write: Callable[[Request], Response] | None = None
    #: --web.route-prefix without its trailing slash ("" for the root)
    route_prefix: str = ""

    def dispatch(self, request: Request, accept: str) -> Response:
        path = request.path
        if self.route_prefix:
            if path in ("/", self.route_prefix):
                return Response(302, b"", "text/plain", {"Location": self.route_prefix + "/graph"})
            if not path.startswith(self.route_prefix + "/"):
                return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")
            path = path[len(self.route_prefix) :]
            request = Request(request.method, path, request.params, request.body)
        if path == "/api/v1/write" and self.remote_write is not None:
            return self.remote_write(request)
        if path.startswith("/api/v1/admin/") and self.admin is not None:
            return self.admin(request)
        if path.startswith("/api/v1/"):
            return self.api.handle(request)
        if path == "/api/ui/dashboards" or path.startswith("/api/ui/dashboards/"):
            if self.dashboards is None:
                return Response(200, b'{"status":"success","data":[]}', "application/json")
            status, body = self.dashboards.answer(path)
            return Response(status, body, "application/json")
        if path == "/federate":
            return self.federate(request)
        if path == "/-/healthy":
            return Response(200, b"metricslib collector is Healthy.\n", "text/plain; charset=utf-8")
        if path == "/-/ready":
            if self.ready():
                return Response(200, b"metricslib collector is Ready.\n", "text/plain; charset=utf-8")
            return Response(503, b"Service Unavailable\n", "text/plain; charset=utf-8")
        if path == "/-/reload":
            return self._lifecycle(request) or self._reload(request)
        if path == "/-/quit":
            return self._lifecycle(request) or self._quit()
        if path == "/metrics":
            return self.own_metrics(accept)
        page = ui.page(path)
        if page is not None:
            content_type, body = page
            if self.route_prefix and content_type.startswith("text/html"):
                # The page's links are absolute: put them under the prefix.
                body = body.replace(b'="/', b'="' + self.route_prefix.encode() + b"/")
            return Response(200, body, content_type, {"Cache-Control": ui.cache_control(path)})
        if path == "/":
            return Response(302, b"", "text/plain", {"Location": "/graph"})
        return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _lifecycle(self, request: Request) -> Response | None:
        """The refusal Prometheus gives before running a lifecycle action, or None."""
        if request.method not in ("POST", "PUT"):
            return Response(405, b"Only POST or PUT requests allowed", "text/plain; charset=utf-8")
        if not self.lifecycle:
            return Response(403, b"Lifecycle API is not enabled.", "text/plain; charset=utf-8")
        return None

    def _quit(self) -> Response:
        if self.quit is not None:
            self.quit()
        return Response(200, b"Requesting termination... Goodbye!", "text/plain; charset=utf-8")

    def _reload(self, request: Request) -> Response:
        try:
            self.reload()
        except ValueError as exc:  # ConfigError: the old configuration keeps running
            message = f"failed to reload config: {exc}\n"
            return Response(500, message.encode(), "text/plain; charset=utf-8")
        return Response(200, b"", "text/plain; charset=utf-8")


class _Connection(GuardedConnection, socketserver.StreamRequestHandler):
    """One client connection: requests answered in turn while the client keeps it alive."""

    server: CollectorHTTPServer
    # Keep-alive clients (Grafana, promtool) would otherwise wait ~40 ms per answer:
    # Nagle holds a response back until the client's delayed ACK.
    disable_nagle_algorithm = True
    # Idle keep-alive connections and stalled clients are dropped, like Prometheus's
    # --web.read-timeout (5 minutes).
    timeout = 300.0

    def handle(self) -> None:
        try:
            while self._serve_one():
                pass
        except (ConnectionError, TimeoutError):
            pass  # the client went away or stalled: nothing to answer

    def _serve_one(self) -> bool:
        """Answer one request; whether the connection stays open for another."""
        try:
            raw = read_request(self.rfile)
            if raw is None:
                return False
            length = raw.content_length()
        except HTTPError as exc:
            self._write(exc.status, [("Content-Type", "text/plain; charset=utf-8")], f"{exc}\n".encode(), False)
            return False
        if length > MAX_BODY_BYTES:
            self._write(413, [("Content-Type", "text/plain")], b"request body too large\n", False)
            return False
        if length and raw.headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return False  # the client went away mid-body
        self.refresh_web()
        if self.web is not None and not self.web.authorized(raw.headers.get("authorization")):
            self._write(*unauthorized(), raw.keep_alive)
            return raw.keep_alive
        if raw.method not in ("GET", "HEAD", "POST", "PUT"):
            self._write(501, [("Content-Type", "text/plain")], b"method not implemented\n", raw.keep_alive)
            return raw.keep_alive
        return self._answer(raw, _request(raw, body))

    def _answer(self, raw: RawRequest, request: Request) -> bool:
        started = time.monotonic()
        routes = self.server.routes
        try:
            if routes is None:
                response = Response(503, b"Service Unavailable\n", "text/plain; charset=utf-8")
            else:
                response = routes.dispatch(request, raw.headers.get("accept", ""))
        except Exception as exc:  # a bug must answer 500, not kill the connection silently
            self.server.log_error(f"{raw.method} {request.path}: {exc!r}")
            payload = {"status": "error", "errorType": "internal", "error": str(exc)}
            response = Response(500, json.dumps(payload).encode())
        body = response.body
        headers = [("Content-Type", response.content_type)] if response.content_type else []
        if "gzip" in raw.headers.get("accept-encoding", "") and len(body) >= _GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=_GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        headers += [(k, v) for k, v in response.headers.items() if k.lower() != "connection"]
        keep_alive = raw.keep_alive and response.headers.get("Connection", "").lower() != "close"
        self._write(response.status, headers, body, keep_alive, head_only=raw.method == "HEAD")
        observe = self.server.observe
        if observe is not None:
            path = request.path
            prefix = routes.route_prefix if routes is not None else ""
            if prefix and path.startswith(prefix + "/"):
                path = path[len(prefix) :]
            observe(path, response.status, time.monotonic() - started, len(body))
        if self.server.access_log:
            client = self.client_address[0]
            print(f'{client} "{raw.method} {raw.target} {raw.version}" {response.status} {len(body)}', file=sys.stderr)
        return keep_alive

    def _write(
        self, status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool, *, head_only: bool = False
    ) -> None:
        if self.web is not None:
            headers = headers + self.web.headers
        if len(body) > _SEPARATE_BODY_BYTES and not head_only:
            # A big body is written after the head rather than copied behind it: a
            # query answer of hundreds of MB is not held twice (Nagle is off, and
            # such a body takes many segments anyway).
            self.wfile.write(format_response(status, headers, body, keep_alive=keep_alive, head_only=True))
            self.wfile.write(body)
            return
        self.wfile.write(format_response(status, headers, body, keep_alive=keep_alive, head_only=head_only))


def _request(raw: RawRequest, body: bytes) -> Request:
    """The sans-I/O request: path, and parameters from the query string and a form body."""
    url = urllib.parse.urlsplit(raw.target)
    params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    content_type = raw.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if body and content_type == "application/x-www-form-urlencoded":
        for key, values in urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
            params.setdefault(key, []).extend(values)
        body = b""
    return Request("GET" if raw.method == "HEAD" else raw.method, url.path, params, body)


def listen_backlog() -> int:
    """The OS's largest accept queue (``net.core.somaxconn``), as Go's net package
    (and so Prometheus) listens with; socketserver's default of 5 refuses bursts."""
    try:
        with open("/proc/sys/net/core/somaxconn", encoding="ascii") as fh:
            return max(int(fh.read().strip()), 5)
    except (OSError, ValueError):
        return socket.SOMAXCONN


class CollectorHTTPServer(GuardedServer, socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = listen_backlog()

    def __init__(
        self,
        address: tuple[str, int],
        routes: Routes | None,
        *,
        access_log: bool = False,
        web_config: WebConfigFile | None = None,
    ) -> None:
        """``routes`` None: bound but answering 503 until they are set (the CLI binds first).

        ``web_config`` (``--web.config.file``) adds TLS, basic auth and headers."""
        self.routes = routes
        self.access_log = access_log
        self.web_config = web_config
        #: (path without the route prefix, status, seconds, body bytes) of each answer
        self.observe: Callable[[str, int, float, int], None] | None = None
        super().__init__(address, _Connection)

    def log_error(self, message: str) -> None:
        print(f"metricslib collector: {message}", file=sys.stderr)


def serve(
    host: str, port: int, routes: Routes, web_config: WebConfigFile | None = None
) -> tuple[CollectorHTTPServer, threading.Thread]:
    """Start serving in a daemon thread; ``server.shutdown()`` stops it.

    ``web_config`` (``--web.config.file``) adds TLS, basic auth and headers.
    """
    server = CollectorHTTPServer((host, port), routes, web_config=web_config)
    thread = threading.Thread(target=server.serve_forever, name="metricslib-http", daemon=True)
    thread.start()
    return server, thread
