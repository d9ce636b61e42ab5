"""HTTP metrics for ASGI apps: a pure ASGI middleware for Starlette and FastAPI.

    app.add_middleware(MetricsMiddleware, registry=registry)

A request is recorded when its last body chunk has been sent (streams are
timed to the end, background tasks that run afterwards are not). Route
templates come from Starlette's routing (``scope["route"]``, mounts and
FastAPI routers included) via :class:`metricslib._asgi_routes.RouteIndex`,
never from the raw path. Websocket and lifespan scopes pass through untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from threading import get_ident
from time import perf_counter
from typing import Any

from metricslib._asgi_routes import RouteIndex
from metricslib._http_metrics import (
    DEFAULT_BUCKETS,
    DEFAULT_SIZE_BUCKETS,
    STATUS_CLIENT_CLOSED,
    UNMATCHED_ROUTE,
    HttpMetrics,
    shared_metrics,
)

__all__ = ["MetricsMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MetricsMiddleware:
    """Count and time every HTTP request passing through an ASGI app.

    ``exclude_paths`` are exact paths (relative to the server's root_path)
    that pass through unrecorded. ``metrics_path`` (default ``"/metrics"``,
    ``None`` to disable) is answered by the middleware itself and is not
    counted unless ``count_metrics_path=True``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: Any = None,
        namespace: str = "http",
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        request_size: bool = False,
        response_size: bool = False,
        size_buckets: Sequence[float] = DEFAULT_SIZE_BUCKETS,
        unmatched_route: str = UNMATCHED_ROUTE,
        preset: str | None = None,
        names: Mapping[str, str] | None = None,
        labels: Sequence[str] | None = None,
        exclude_paths: Iterable[str] = (),
        metrics_path: str | None = "/metrics",
        count_metrics_path: bool = False,
        metrics: HttpMetrics | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics or shared_metrics(
            registry=registry,
            namespace=namespace,
            buckets=buckets,
            request_size=request_size,
            response_size=response_size,
            size_buckets=size_buckets,
            unmatched_route=unmatched_route,
            preset=preset,
            names=names,
            labels=labels,
        )
        self.routes = RouteIndex(self.metrics.unmatched_route, self.metrics.mount_suffix)
        # Chosen once: the route template, or the raw path for presets that label by path.
        self._route_of: Callable[[Scope, str], str] = (
            _path_only if self.metrics.by_path else self.routes.resolve
        )
        self.metrics_path = metrics_path
        self._excluded = frozenset(exclude_paths)
        self._metrics_app: ASGIApp | None = None
        if metrics_path is not None:
            from metricslib.serve import make_asgi_app

            self._metrics_app = make_asgi_app(self.metrics.registry)
            if not count_metrics_path:
                self._excluded |= {metrics_path}

    def _lifespan_send(self, send: Send) -> Send:
        """Pass lifespan messages on unchanged; on shutdown, leave multi-worker aggregation.

        uvicorn re-raises SIGTERM after its graceful shutdown, so ``atexit`` never
        runs in its workers: this is the last moment a worker can archive its
        counts for the workers that stay.
        """

        async def forward(message: Message) -> None:
            if message.get("type") == "lifespan.shutdown.complete":
                from metricslib import multiprocess

                if multiprocess.aggregator_for(self.metrics.registry) is not None:
                    multiprocess.shutdown()
            await send(message)

        return forward

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, self._lifespan_send(send))
            else:
                await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root_path = scope.get("root_path")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        app = self.app
        fixed_route: str | None = None
        if path == self.metrics_path and self._metrics_app is not None:
            app = self._metrics_app
            fixed_route = path
        if path in self._excluded:
            await app(scope, receive, send)
            return

        metrics = self.metrics
        status = 0
        sent = 0
        done = False
        send_failed = False
        count_bytes = metrics.count_response_bytes
        size_header = metrics.size_from_header
        # 0 unless the in-flight gauge is labelled by method (the map is empty then).
        slots = metrics.flight_slots
        slot = metrics.flight_slot(scope["method"]) if slots else 0

        def finish(code: int, exc: BaseException | None = None) -> None:
            nonlocal done
            done = True
            duration = perf_counter() - start
            method: str = scope["method"]
            try:
                route = fixed_route or self._route_of(scope, path)
                if exc is not None:
                    metrics.exception(method, route, exc)
                request_bytes = _content_length(scope) if metrics.track_request_size else 0
                metrics.observe(method, code, route, duration, request_bytes, sent)
            finally:
                # metrics.stopped(slot), inlined: this runs once per request.
                try:
                    metrics.flight[get_ident()][slot] -= 1
                except KeyError:
                    metrics.flight_cell()[slot] -= 1

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent, send_failed
            kind = message["type"]
            if kind == "http.response.body":
                if count_bytes:
                    sent += len(message.get("body", b""))
                last = not message.get("more_body", False)
            elif kind == "http.response.start":
                status = message["status"]
                if size_header:
                    sent = _header_length(message.get("headers", ()))
                last = False
            else:  # pathsend (a whole file in one message), trailers, ...
                last = kind == "http.response.pathsend"
            try:
                await send(message)
            except BaseException:
                send_failed = True
                raise
            if last and not done:
                # Timed up to the last byte handed to the server; background
                # tasks that run after this are not part of the request.
                finish(status)

        try:  # metrics.started(slot), inlined
            metrics.flight[get_ident()][slot] += 1
        except KeyError:
            metrics.flight_cell()[slot] += 1
        start = perf_counter()
        try:
            await app(scope, receive, send_wrapper)
        except BaseException as exc:
            if not done:
                if send_failed or isinstance(exc, asyncio.CancelledError):
                    # The server could not deliver (or gave up on) the
                    # response: the client went away, not a handler failure.
                    finish(STATUS_CLIENT_CLOSED)
                else:
                    finish(500, exc)
            elif not send_failed and not isinstance(exc, asyncio.CancelledError):
                # Raised after the response was complete (a background task):
                # the request stays as sent, the exception is still counted.
                method: str = scope["method"]
                metrics.exception(method, self._route_of(scope, path), exc)
            raise
        if not done:
            # Returned without finishing the body: a stream cut short by a
            # disconnect, or (no response at all) the server answers 500.
            finish(STATUS_CLIENT_CLOSED if status else 500)


def _content_length(scope: Scope) -> int:
    return _header_length(scope.get("headers", ()))


def _header_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """The Content-Length among ASGI headers, 0 when absent or not a number."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _path_only(scope: Scope, path: str) -> str:
    return path
