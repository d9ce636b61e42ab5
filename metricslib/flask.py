"""HTTP metrics for Flask: ``FlaskMetrics(app)`` or ``FlaskMetrics().init_app(app)``.

Flask is imported here only, so the rest of metricslib stays free of it.
The app's ``wsgi_app`` is wrapped with :class:`metricslib.wsgi.MetricsMiddleware`
(timing to the last body chunk, /metrics, exclusions); two small hooks feed it
what only Flask knows: the matched ``url_rule.rule`` (caught as Flask assigns
it, see ``_route_recording``) and exceptions Flask turns into a 500 page itself
(the ``got_request_exception`` signal), which would otherwise be invisible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from metricslib._http_metrics import (
    DEFAULT_BUCKETS,
    DEFAULT_SIZE_BUCKETS,
    UNMATCHED_ROUTE,
    shared_metrics,
)
from metricslib.errors import InvalidMetricError
from metricslib.wsgi import EXCEPTION_KEY, ROUTE_KEY, MetricsMiddleware

__all__ = ["FlaskMetrics"]

_EXTENSION_KEY = "metricslib"


class _RuleSetter:
    """Data descriptor with ``__set__`` only: Flask's one write of ``url_rule``
    goes through it, while its many reads find the instance attribute directly
    (a descriptor without ``__get__`` does not intercept reads).
    """

    def __set__(self, request: flask.Request, rule: Rule | None) -> None:
        request.__dict__["url_rule"] = rule
        if rule is not None:
            request.environ[ROUTE_KEY] = rule.rule


def _route_recording(base: type[flask.Request]) -> type[flask.Request]:
    """A subclass of the app's request class that copies the matched rule into the environ.

    Flask assigns ``request.url_rule`` once, while matching the URL, before
    any ``before_request`` hook (which might answer early) runs; catching that
    assignment costs far less than a hook dispatched per request.
    """
    if getattr(base, "_metricslib_records_route", False):
        return base

    class RouteRecordingRequest(base):  # type: ignore[valid-type,misc]
        _metricslib_records_route = True
        url_rule = _RuleSetter()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.__dict__["url_rule"] = None

    RouteRecordingRequest.__name__ = RouteRecordingRequest.__qualname__ = base.__name__
    RouteRecordingRequest.__module__ = base.__module__
    return RouteRecordingRequest


def _complete_bodies(base: type[flask.Response]) -> type[flask.Response]:
    """A subclass of the app's response class that hands a fully built body over as a list.

    Werkzeug wraps every body in a generator, so the WSGI middleware could only
    record a request once the server (or a test client) finished reading it;
    ``client.get("/").status_code`` never reads it, and such requests went
    uncounted. A list is complete the moment the app returns: the middleware
    records it at once, and servers iterate it with less overhead. Streamed
    bodies, ``call_on_close`` callbacks and bodiless answers keep Werkzeug's path.
    """
    if getattr(base, "_metricslib_complete_bodies", False):
        return base

    class CompleteBodyResponse(base):  # type: ignore[valid-type,misc]
        _metricslib_complete_bodies = True

        def get_app_iter(self, environ: Any) -> Any:
            body = self.response
            status = self.status_code
            if type(body) is list and not self._on_close and not self.direct_passthrough:
                if environ.get("REQUEST_METHOD") == "HEAD" or 100 <= status < 200 or status in (204, 304):
                    return []  # no body on the wire, as Werkzeug sends none
                if all(type(chunk) is bytes for chunk in body):
                    return body
            return super().get_app_iter(environ)

        @classmethod
        def force_type(cls, response: Any, environ: Any = None) -> Any:
            # Flask turns an HTTPException (404, 405, a redirect, abort(...),
            # the 500 page of a raising handler) into a response by running it
            # as a WSGI app, which leaves an iterator body; its own response
            # object has the page as a list, complete and recorded at once.
            if isinstance(response, HTTPException) and environ is not None:
                response = response.get_response(environ)
            return super().force_type(response, environ)

    CompleteBodyResponse.__name__ = CompleteBodyResponse.__qualname__ = base.__name__
    CompleteBodyResponse.__module__ = base.__module__
    return CompleteBodyResponse


def _record_exception(sender: flask.Flask, exception: BaseException, **_: Any) -> None:
    if flask.has_request_context():
        flask.request.environ[EXCEPTION_KEY] = exception


class FlaskMetrics:
    """The HTTP metric set for one or more Flask apps (one metric set, shared).

    Options are those of :class:`metricslib.wsgi.MetricsMiddleware`;
    ``metrics_path`` defaults to ``"/metrics"`` (``None`` disables it).
    """

    def __init__(
        self,
        app: flask.Flask | None = None,
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
    ) -> None:
        self.metrics = shared_metrics(
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
        self.registry = self.metrics.registry
        self._exclude_paths = tuple(exclude_paths)
        self._metrics_path = metrics_path
        self._count_metrics_path = count_metrics_path
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Instrument ``app``; raises if it is already instrumented."""
        if _EXTENSION_KEY in app.extensions:
            raise InvalidMetricError(
                f"Flask app {app.name!r} is already instrumented by metricslib; "
                "call init_app once per app (one FlaskMetrics can serve many apps)"
            )
        app.extensions[_EXTENSION_KEY] = self
        # A request_class assigned after init_app replaces this one (and the
        # route labels go): assign yours first.
        app.request_class = _route_recording(app.request_class)
        app.response_class = _complete_bodies(app.response_class)
        flask.got_request_exception.connect(_record_exception, app, weak=False)
        app.wsgi_app = MetricsMiddleware(  # type: ignore[method-assign]
            app.wsgi_app,
            metrics=self.metrics,
            exclude_paths=self._exclude_paths,
            metrics_path=self._metrics_path,
            count_metrics_path=self._count_metrics_path,
        )
