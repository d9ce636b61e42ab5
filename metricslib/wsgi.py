"""HTTP metrics for any WSGI application (werkzeug, Flask, Django, wsgiref, ...).

``MetricsMiddleware(app)`` wraps a WSGI callable. A request is recorded when
its response body has been fully handed to the server (the iterable ran out),
so streamed responses are timed to the last chunk; a server that stops
iterating early (the client went away) is recorded with status 499.

The route label comes from ``environ["metricslib.route"]``, which the
framework adapter (``metricslib.flask``) or your own code sets to the route
template; a custom ``route_getter(environ)`` can replace that. Requests
without a template share the ``unmatched_route`` label value, so no raw path
ever becomes a label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from threading import get_ident
from time import perf_counter
from types import TracebackType
from typing import Any

from metricslib._http_metrics import (
    DEFAULT_BUCKETS,
    DEFAULT_SIZE_BUCKETS,
    KNOWN_METHODS,
    STATUS_CLIENT_CLOSED,
    UNMATCHED_ROUTE,
    HttpMetrics,
    shared_metrics,
)

__all__ = ["EXCEPTION_KEY", "ROUTE_KEY", "MetricsMiddleware"]

#: WSGI environ key holding the route template of the current request.
ROUTE_KEY = "metricslib.route"
#: Set by an adapter that saw (and let the framework handle) an exception.
EXCEPTION_KEY = "metricslib.exception"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_Environ = dict[str, Any]


StartResponse = Callable[..., Any]
WSGIApp = Callable[[_Environ, StartResponse], Iterable[bytes]]


class MetricsMiddleware:
    """Wrap a WSGI app so that every request is counted and timed.

    ``exclude_paths`` are exact ``PATH_INFO`` values that pass through
    unrecorded (health checks). ``metrics_path`` (default ``"/metrics"``,
    ``None`` to disable) is answered by the middleware itself with the
    registry's exposition; it is not counted unless ``count_metrics_path=True``.
    """

    def __init__(
        self,
        app: WSGIApp,
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
        route_getter: Callable[[_Environ], str | None] | None = None,
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
        self.metrics_path = metrics_path
        # Where the route label comes from, chosen once: the template the
        # adapter recorded, or the raw path for presets that label by path.
        self._route_key = "PATH_INFO" if self.metrics.by_path else ROUTE_KEY
        self._route_getter = route_getter
        self._excluded = frozenset(exclude_paths)
        self._metrics_app: WSGIApp | None = None
        if metrics_path is not None:
            from metricslib.serve import make_wsgi_app

            self._metrics_app = make_wsgi_app(self.metrics.registry)
            if not count_metrics_path:
                self._excluded |= {metrics_path}
        # One set lookup per request decides whether anything special applies.
        self._special = self._excluded | ({metrics_path} if metrics_path is not None else set())

    def __call__(self, environ: _Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        app = self.app
        if path in self._special:
            if path != self.metrics_path or self._metrics_app is None:
                return app(environ, start_response)
            app = self._metrics_app
            if path in self._excluded:
                return app(environ, start_response)
            environ[ROUTE_KEY] = path
        call = _Call(self, environ, start_response)
        try:
            inner = app(environ, call.start_response)
        except BaseException as exc:
            call.finish(500, exc)
            raise
        if type(inner) is list and call.status:
            # A fully built body: nothing left to time, skip the wrapper.
            if self.metrics.count_response_bytes:
                call._sent = sum(len(chunk) for chunk in inner)
            call.finish(call.status)
            return inner
        call._inner = inner
        file_wrapper = environ.get("wsgi.file_wrapper")
        if type(file_wrapper) is type and isinstance(inner, file_wrapper) and call._hook_close(inner):
            # Handed back as is: the server recognises its own file wrapper
            # and sends it with sendfile(), which our wrapper would defeat.
            return inner
        return call


class _Call:
    """One request in flight: the start_response shim and the body wrapper in one.

    One object per request, handed to the server as the response iterable;
    it records when the wrapped body runs out (or is abandoned).
    """

    __slots__ = (
        "_done", "_headers", "_inner", "_mw", "_sent", "_slot", "_start", "_start_response", "environ", "status",
    )
    _inner: Iterable[bytes]
    _headers: list[tuple[str, str]]

    def __init__(self, mw: MetricsMiddleware, environ: _Environ, start_response: StartResponse) -> None:
        self._mw = mw
        self.environ = environ
        self._start_response = start_response
        self.status = 0
        self._sent = 0
        self._done = False
        metrics = mw.metrics
        # 0 unless the in-flight gauge is labelled by method (the map is empty then).
        slots = metrics.flight_slots
        self._slot = slot = metrics.flight_slot(environ.get("REQUEST_METHOD", "")) if slots else 0
        try:
            metrics.flight[get_ident()][slot] += 1
        except KeyError:
            metrics.flight_cell()[slot] += 1
        self._start = perf_counter()

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = None, /
    ) -> Any:
        self.status = int(status[:3])
        self._headers = headers
        return self._start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        try:
            if self._mw.metrics.count_response_bytes:
                for chunk in self._inner:
                    self._sent += len(chunk)
                    yield chunk
            else:
                yield from self._inner
        except GeneratorExit:
            # The server abandoned the body (client disconnect).
            if not self._done:
                self.finish(STATUS_CLIENT_CLOSED)
            raise
        except BaseException as exc:
            if not self._done:
                self.finish(500, exc)
            raise
        # The status may only be known now: start_response can be deferred
        # until the first chunk is produced.
        self.finish(self.status or 500)

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        except BaseException as exc:
            if not self._done:
                self.finish(500, exc)
            raise
        finally:
            if not self._done:
                # Closed before the body ran out: the server gave up on it.
                self.finish(STATUS_CLIENT_CLOSED if self.status else 500)

    def _hook_close(self, body: Any) -> bool:
        """Record when the server closes ``body``; False if it cannot be hooked."""
        original = getattr(body, "close", None)

        def close() -> None:
            try:
                if original is not None:
                    original()
            finally:
                if not self._done:
                    self.finish(self.status or 500)

        try:
            body.close = close
        except (AttributeError, TypeError):
            return False
        return True

    def finish(self, status: int, exc: BaseException | None = None) -> None:
        self._done = True
        duration = perf_counter() - self._start
        mw = self._mw
        metrics = mw.metrics
        environ = self.environ
        route = environ.get(mw._route_key)
        if route is None:
            route = mw._route_getter(environ) if mw._route_getter is not None else None
            if route is None:
                route = metrics.unmatched_route
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            handled = environ.get(EXCEPTION_KEY)
            if exc is not None and handled is not exc:
                metrics.exception(method, route, exc)
            elif handled is not None:
                metrics.exception(method, route, handled)
            request_bytes = 0
            if metrics.track_request_size:
                try:
                    request_bytes = int(environ.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    request_bytes = 0
            # metrics.observe(), inlined: this runs once per request.
            key = (method if method in KNOWN_METHODS else "other", status, route)
            inc, observe, observe_req, observe_resp = metrics.children.get(key) or metrics.resolve(key)
            inc()
            observe(duration)
            if observe_req is not None:
                observe_req(request_bytes)
            if observe_resp is not None:
                if metrics.size_from_header:  # unset when the app never started a response
                    observe_resp(_content_length(getattr(self, "_headers", None)))
                else:
                    observe_resp(self._sent)
        finally:
            try:
                metrics.flight[get_ident()][self._slot] -= 1
            except KeyError:
                metrics.flight_cell()[self._slot] -= 1


def _content_length(headers: list[tuple[str, str]] | None) -> int:
    """The response's Content-Length header, 0 when absent or not a number."""
    for name, value in headers or ():
        if name.lower() == "content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
