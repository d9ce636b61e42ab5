"""The HTTP metric set shared by the WSGI, Flask and ASGI middleware (sans-I/O).

The adapters only find out *what happened* (method, status, route template,
duration, sizes, exception); this module owns the names, the labels and the
cheap path from "a request finished" to the instruments. Keeping it in one
place is what guarantees that every framework exposes identical series.

Hot-path design: the labelled children for a ``(method, status, route)``
triple are resolved once and cached in a plain dict, so a finished request
costs one dict lookup plus the child updates; the status is kept as an
``int`` in the key so no string formatting happens per request.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from threading import get_ident
from typing import Any, Final

from metricslib._http_presets import Naming, naming
from metricslib.errors import DuplicateMetricError, InvalidMetricError, InvalidNameError

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_SIZE_BUCKETS",
    "KNOWN_METHODS",
    "STATUS_CLIENT_CLOSED",
    "UNMATCHED_ROUTE",
    "HttpMetrics",
    "shared_metrics",
]

#: Route label of every request no route matched (404 floods, scanners, ...).
UNMATCHED_ROUTE: Final = "<unmatched>"

#: Status recorded when the client went away before the response finished
#: (nginx's convention; no real response carries it).
STATUS_CLIENT_CLOSED: Final = 499

DEFAULT_BUCKETS: Final[tuple[float, ...]] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)
DEFAULT_SIZE_BUCKETS: Final[tuple[float, ...]] = tuple(float(4**i * 16) for i in range(10))

# Anything else a client sends as a method is folded into "other": the method
# comes straight off the wire, so it must not be allowed to mint new series.
# Methods are case-sensitive (RFC 9110), so "get" is "other" too.
KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
_NAMESPACE_RE: Final = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")




def _instruments() -> tuple[Any, Any, Any]:
    # Imported on first use, not at module import, so importing an adapter
    # never drags in (or registers) anything by itself.
    from metricslib.instruments import Counter, Gauge, Histogram

    return Counter, Gauge, Histogram


class HttpMetrics:
    """The HTTP metric set registered in one registry, and the record functions.

    Names are ``<namespace>_requests_total``,
    ``<namespace>_request_duration_seconds``, ``<namespace>_requests_in_flight``,
    ``<namespace>_request_exceptions_total`` and, when enabled,
    ``<namespace>_request_size_bytes`` / ``<namespace>_response_size_bytes``.
    ``namespace`` defaults to ``"http"``, giving the conventional
    ``http_requests_total``; ``namespace="image_gallery"`` gives
    ``image_gallery_requests_total``.
    """

    def __init__(
        self,
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
    ) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE_RE.match(namespace):
            raise InvalidNameError(
                f"namespace {namespace!r} is not a valid metric name prefix: "
                "use letters, digits, '_' and ':', not starting with a digit"
            )
        if not isinstance(unmatched_route, str):
            raise InvalidMetricError(f"unmatched_route must be a str, got {unmatched_route!r}")
        counter_cls, gauge_cls, histogram_cls = _instruments()
        if registry is None:
            from metricslib.registry import REGISTRY

            registry = REGISTRY
        self.registry = registry
        self.namespace = namespace
        self.unmatched_route = unmatched_route
        self.track_request_size = request_size
        self.track_response_size = response_size
        scheme = naming(namespace, preset, names, labels)
        self.naming = scheme
        self.options = _options(buckets, request_size, response_size, size_buckets, unmatched_route, scheme)
        common = list(scheme.labels)
        order = ("method", "code", "route")
        self._label_positions = tuple(order.index(label) for label in common)
        self._lowercase_methods = scheme.lowercase_methods
        name = scheme.name
        self._exception_labels = (*(label for label in ("method", "route") if label in common), "exception")

        self.requests_total = counter_cls(
            name("requests_total"),
            "HTTP requests that finished, by method, status code and route template.",
            labelnames=common,
            registry=None,
        )
        self.request_duration = histogram_cls(
            name("request_duration_seconds"),
            "Time from receiving the request to sending the last byte of the response.",
            labelnames=common,
            buckets=tuple(buckets),
            registry=None,
        )
        # Across pre-fork workers the only meaningful aggregate of an in-flight
        # gauge is the sum over the workers that are alive.
        self.in_flight = gauge_cls(
            name("requests_in_flight"),
            "HTTP requests being served right now.",
            registry=None,
            multiprocess_mode="livesum",
        )
        self.exceptions_total = counter_cls(
            name("request_exceptions_total"),
            "Requests whose handler raised, by method, route template and exception type.",
            labelnames=list(self._exception_labels),
            registry=None,
        )
        self.request_size = (
            histogram_cls(
                name("request_size_bytes"),
                "Request body size from Content-Length (0 when absent).",
                labelnames=common,
                buckets=tuple(size_buckets),
                registry=None,
            )
            if request_size
            else None
        )
        self.response_size = (
            histogram_cls(
                name("response_size_bytes"),
                "Response body bytes sent.",
                labelnames=common,
                buckets=tuple(size_buckets),
                registry=None,
            )
            if response_size
            else None
        )
        # Registered together at the end: a name clash on any one of them
        # leaves none behind, so fixing the clash and retrying works.
        instruments = [
            self.requests_total,
            self.request_duration,
            self.in_flight,
            self.exceptions_total,
            self.request_size,
            self.response_size,
        ]
        done: list[Any] = []
        try:
            for instrument in instruments:
                if instrument is not None:
                    registry.register(instrument)
                    done.append(instrument)
        except BaseException:
            for instrument in done:
                registry.unregister(instrument)
            raise
        # (method, status, route) -> bound update methods; see resolve.
        self.children: dict[tuple[str, int, str], tuple[Any, ...]] = {}
        self._exception_children: dict[tuple[str, str, str], Any] = {}
        # In flight = requests started minus finished, kept per thread: each
        # thread only ever writes its own cell, so no lock is needed, and the
        # sum stays exact even when a request ends on another thread than it
        # began (the two cells move in opposite directions).
        self.flight: dict[int, list[int]] = {}
        self._flight_lock = threading.Lock()
        self.in_flight.set_function(self._in_flight_total)

    def flight_cell(self) -> list[int]:
        """This thread's in-flight cell (the hot path indexes ``flight`` directly)."""
        ident = get_ident()
        with self._flight_lock:
            return self.flight.setdefault(ident, [0])

    def started(self) -> None:
        try:
            self.flight[get_ident()][0] += 1
        except KeyError:
            self.flight_cell()[0] += 1

    def stopped(self) -> None:
        try:
            self.flight[get_ident()][0] -= 1
        except KeyError:
            self.flight_cell()[0] -= 1

    def _in_flight_total(self) -> float:
        # list() copies under the GIL, so a thread adding its cell meanwhile is harmless.
        return float(sum(cell[0] for cell in list(self.flight.values())))

    def resolve(self, key: tuple[str, int, str]) -> tuple[Any, ...]:
        method, status, route = key
        triple = (method.lower() if self._lowercase_methods else method, str(status), route)
        values = tuple(triple[i] for i in self._label_positions)
        resolved = (
            self.requests_total.labels(*values).inc,
            self.request_duration.labels(*values).observe,
            self.request_size.labels(*values).observe if self.request_size is not None else None,
            self.response_size.labels(*values).observe if self.response_size is not None else None,
        )
        # Racing threads may both resolve the same key; both get the same
        # children from the instrument, so the lost write is harmless.
        self.children[key] = resolved
        return resolved

    def observe(
        self,
        method: str,
        status: int,
        route: str,
        duration: float,
        request_bytes: int = 0,
        response_bytes: int = 0,
    ) -> None:
        """Record one finished request (does not touch the in-flight gauge)."""
        # Normalised before it becomes a cache key: random methods from
        # clients must not grow the cache either.
        key = (method if method in KNOWN_METHODS else "other", status, route)
        resolved = self.children.get(key)
        if resolved is None:
            resolved = self.resolve(key)
        inc, observe_duration, observe_req, observe_resp = resolved
        inc()
        observe_duration(duration)
        if observe_req is not None:
            observe_req(request_bytes)
        if observe_resp is not None:
            observe_resp(response_bytes)

    def exception(self, method: str, route: str, exc: BaseException) -> None:
        """Count a handler exception (the request itself is recorded by ``observe``)."""
        key = (method if method in KNOWN_METHODS else "other", route, type(exc).__name__)
        child = self._exception_children.get(key)
        if child is None:
            by_name = {"method": key[0].lower() if self._lowercase_methods else key[0],
                       "route": key[1], "exception": key[2]}
            child = self.exceptions_total.labels(*(by_name[label] for label in self._exception_labels)).inc
            self._exception_children[key] = child
        child()


def _options(
    buckets: Sequence[float],
    request_size: bool,
    response_size: bool,
    size_buckets: Sequence[float],
    unmatched_route: str,
    scheme: Naming | None = None,
) -> dict[str, object]:
    return {
        "naming": scheme,
        "buckets": tuple(float(b) for b in buckets),
        "request_size": bool(request_size),
        "response_size": bool(response_size),
        "size_buckets": tuple(float(b) for b in size_buckets),
        "unmatched_route": unmatched_route,
    }


# Metric sets by registry, then namespace. Weak keys: a registry that goes
# away takes its metric sets with it.
_shared: weakref.WeakKeyDictionary[Any, dict[str, HttpMetrics]] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_metrics(
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
) -> HttpMetrics:
    """The metric set for ``(registry, namespace)``: created once, then shared.

    Creating the same app twice in one process (an app factory called per
    test, two Flask apps, a rebuilt middleware stack) must not fail with a
    duplicate-metric error nor record into a set nobody scrapes; the same
    options get the same set back. Different options for a namespace already
    in use are an error, because one of the two would silently be ignored.
    """
    if registry is None:
        from metricslib.registry import REGISTRY

        registry = REGISTRY
    scheme = naming(namespace, preset, names, labels)
    wanted = _options(buckets, request_size, response_size, size_buckets, unmatched_route, scheme)
    with _shared_lock:
        try:
            per_registry = _shared.setdefault(registry, {})
        except TypeError:  # a registry that cannot be weakly referenced: no sharing
            per_registry = {}
        existing = per_registry.get(namespace)
        if existing is not None:
            if existing.options != wanted:
                changed = ", ".join(
                    f"{key}={wanted[key]!r} (in use: {existing.options[key]!r})"
                    for key in wanted
                    if wanted[key] != existing.options[key]
                )
                raise DuplicateMetricError(
                    f"HTTP metrics with namespace {namespace!r} already exist in this registry "
                    f"with other options: {changed}; use the same options, another "
                    "namespace or another registry"
                )
            return existing
        metrics = HttpMetrics(
            registry=registry, namespace=namespace, buckets=buckets, request_size=request_size,
            response_size=response_size, size_buckets=size_buckets, unmatched_route=unmatched_route,
            preset=preset, names=names, labels=labels,
        )
        per_registry[namespace] = metrics
        return metrics
