"""The HTTP metric set shared by the WSGI, Flask and ASGI middleware (sans-I/O).

The adapters only find out *what happened* (method, status, route template,
duration, sizes, exception); this module owns the names, the labels and the
cheap path from "a request finished" to the instruments. Keeping it in one
place is what guarantees that every framework exposes identical series.

Hot-path design: the labelled children for a ``(method, status, route)``
triple are resolved once and cached in a plain dict, so a finished request
costs one dict lookup plus the child updates; the status is kept as an
``int`` in the key so no string formatting happens per request. A preset
(:mod:`metricslib._http_presets`) only changes what ``resolve`` binds on a
cache miss (which metrics, which label values, no-ops for requests the
preset does not record), never the per-request path.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from threading import get_ident
from typing import Any, Final

from metricslib._http_presets import DURATION_ROLES, MetricSpec, Naming, naming
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




class HttpMetrics:
    """The HTTP metric set registered in one registry, and the record functions.

    Names are ``<namespace>_requests_total``,
    ``<namespace>_request_duration_seconds``, ``<namespace>_requests_in_flight``,
    ``<namespace>_request_exceptions_total`` and, when enabled,
    ``<namespace>_request_size_bytes`` / ``<namespace>_response_size_bytes``.
    ``namespace`` defaults to ``"http"``, giving the conventional
    ``http_requests_total``; ``namespace="image_gallery"`` gives
    ``image_gallery_requests_total``. A ``preset`` replaces the whole set by
    another library's (see :mod:`metricslib._http_presets`).
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
        scheme = naming(
            namespace, preset, names, labels,
            request_size=request_size, response_size=response_size, unmatched_route=unmatched_route,
        )
        if registry is None:
            from metricslib.registry import REGISTRY

            registry = REGISTRY
        self.registry = registry
        self.namespace = namespace
        self.naming = scheme
        # Unmatched requests carry this route; with a scheme that does not record
        # them it is our own marker, which `resolve` turns into no-ops.
        self.unmatched_route = scheme.unmatched if scheme.unmatched is not None else UNMATCHED_ROUTE
        self._drop_unmatched = scheme.unmatched is None
        self.by_path = scheme.by_path
        self.mount_suffix = scheme.mount_suffix
        self.size_from_header = scheme.size_from_header
        self.track_request_size = scheme.spec("request_size_bytes") is not None
        self.track_response_size = scheme.spec("response_size_bytes") is not None
        #: Whether the middleware must count the body bytes it forwards.
        self.count_response_bytes = self.track_response_size and not scheme.size_from_header
        self.options = _options(buckets, request_size, response_size, size_buckets, unmatched_route, scheme)
        self._lowercase_methods = scheme.lowercase_methods

        instruments: dict[str, Any] = {}
        for spec in scheme.metrics:
            instruments[spec.role] = _build(spec, buckets, size_buckets)
        self.instruments = instruments
        self.requests_total = instruments.get("requests_total")
        self.request_duration = instruments.get("request_duration_seconds")
        self.in_flight = instruments.get("requests_in_flight")
        self.exceptions_total = instruments.get("request_exceptions_total")
        self.request_size = instruments.get("request_size_bytes")
        self.response_size = instruments.get("response_size_bytes")
        # Registered together at the end: a name clash on any one of them
        # leaves none behind, so fixing the clash and retrying works.
        done: list[Any] = []
        try:
            for instrument in instruments.values():
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
        # began (the two cells move in opposite directions). A gauge labelled
        # by method keeps one slot per method (0: "other"); unlabelled, the
        # slot map is empty and every request uses slot 0.
        flight_spec = scheme.spec("requests_in_flight")
        by_method = flight_spec is not None and any(src == "method" for _, src in flight_spec.labels)
        self.flight_slots: dict[str, int] = (
            {method: i for i, method in enumerate(sorted(KNOWN_METHODS), start=1)} if by_method else {}
        )
        self._flight_width = 1 + len(self.flight_slots)
        self.flight: dict[int, list[int]] = {}
        self._flight_lock = threading.Lock()
        self._flight_children: set[int] = set()
        if self.in_flight is not None and not by_method:
            if flight_spec is not None and flight_spec.labels:
                self.in_flight.labels(*_values(flight_spec, {})).set_function(self._in_flight_total)
            else:
                self.in_flight.set_function(self._in_flight_total)

    def flight_cell(self) -> list[int]:
        """This thread's in-flight cell (the hot path indexes ``flight`` directly)."""
        ident = get_ident()
        with self._flight_lock:
            return self.flight.setdefault(ident, [0] * self._flight_width)

    def started(self, slot: int = 0) -> None:
        try:
            self.flight[get_ident()][slot] += 1
        except KeyError:
            self.flight_cell()[slot] += 1

    def stopped(self, slot: int = 0) -> None:
        try:
            self.flight[get_ident()][slot] -= 1
        except KeyError:
            self.flight_cell()[slot] -= 1

    def flight_slot(self, method: str) -> int:
        """The in-flight slot of ``method`` when the gauge is labelled by method;
        its series appears with the first request of that method, as it starts."""
        slot = self.flight_slots.get(method, 0)
        if slot not in self._flight_children:
            with self._flight_lock:
                if slot not in self._flight_children:
                    spec = self.naming.spec("requests_in_flight")
                    assert spec is not None and self.in_flight is not None
                    label = self._method_label(method if slot else "other")
                    child = self.in_flight.labels(*_values(spec, {"method": label}))
                    child.set_function(self._in_flight_slot(slot))
                    self._flight_children.add(slot)
        return slot

    def _in_flight_total(self) -> float:
        # list() copies under the GIL, so a thread adding its cell meanwhile is harmless.
        return float(sum(sum(cell) for cell in list(self.flight.values())))

    def _in_flight_slot(self, slot: int) -> Any:
        def total() -> float:
            return float(sum(cell[slot] for cell in list(self.flight.values())))

        return total

    def _method_label(self, method: str) -> str:
        return method.lower() if self._lowercase_methods else method

    def resolve(self, key: tuple[str, int, str]) -> tuple[Any, ...]:
        method, status, route = key
        if status == 405 and self.naming.unmatched_405:
            route = self.unmatched_route  # the path matched, the method did not: no route matched in full
        if self._drop_unmatched and route == self.unmatched_route:
            # Not recorded, as the preset's library does.
            resolved: tuple[Any, ...] = (_noop, _noop, None, None)
        else:
            code = str(status)
            if self.by_path:
                # As Werkzeug's request.path: PATH_INFO is latin-1-decoded bytes.
                route = "/" + route.encode("latin-1", "replace").decode("utf-8", "replace").lstrip("/")
            sources = {
                "method": self._method_label(method), "code": code, "code_class": f"{code[0]}xx", "route": route,
            }
            bound: dict[str, Any] = {}
            for spec in self.naming.metrics:
                if spec.role in ("requests_in_flight", "request_exceptions_total"):
                    continue
                instrument = self.instruments[spec.role]
                child = instrument.labels(*_values(spec, sources)) if spec.labels else instrument
                bound[spec.role] = child.inc if spec.kind == "counter" else child.observe
            durations = [bound[role] for role in DURATION_ROLES if role in bound]
            resolved = (
                bound.get("requests_total", _noop),
                durations[0] if len(durations) == 1 else _fan_out(durations),
                bound.get("request_size_bytes"),
                bound.get("response_size_bytes"),
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
        if self.exceptions_total is None:
            return
        key = (method if method in KNOWN_METHODS else "other", route, type(exc).__name__)
        child = self._exception_children.get(key)
        if child is None:
            spec = self.naming.spec("request_exceptions_total")
            assert spec is not None
            if self.by_path:
                route = "/" + route.encode("latin-1", "replace").decode("utf-8", "replace").lstrip("/")
            sources = {"method": self._method_label(key[0]), "route": route, "exception": key[2]}
            child = self.exceptions_total.labels(*_values(spec, sources)).inc
            self._exception_children[key] = child
        child()


def _noop(*_: object) -> None:
    return None


def _fan_out(observers: Sequence[Any]) -> Any:
    def observe(value: float) -> None:
        for each in observers:
            each(value)

    return observe


def _values(spec: MetricSpec, sources: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(src[1:] if src.startswith("=") else sources[src] for _, src in spec.labels)


_HELP = {
    "requests_total": "HTTP requests that finished.",
    "request_duration_seconds": "Time from receiving the request to sending the last byte of the response.",
    "request_duration_highr_seconds": "Request duration with many buckets and no labels, for percentiles.",
    "requests_in_flight": "HTTP requests being served right now.",
    "request_exceptions_total": "Requests whose handler raised.",
    "request_size_bytes": "Request body size from Content-Length (0 when absent).",
    "response_size_bytes": "Response body size.",
}


def _build(spec: MetricSpec, buckets: Sequence[float], size_buckets: Sequence[float]) -> Any:
    # Imported on first use, not at module import, so importing an adapter
    # never drags in (or registers) anything by itself.
    from metricslib.instruments import Counter, Gauge, Histogram, Summary

    labelnames = list(spec.label_names)
    doc = _HELP[spec.role]
    if spec.kind == "counter":
        return Counter(spec.name, doc, labelnames=labelnames, registry=None)
    if spec.kind == "summary":
        return Summary(spec.name, doc, labelnames=labelnames, registry=None)
    if spec.kind == "gauge":
        # Across pre-fork workers the only meaningful aggregate of an in-flight
        # gauge is the sum over the workers that are alive.
        return Gauge(spec.name, doc, labelnames=labelnames, registry=None, multiprocess_mode="livesum")
    if spec.role in DURATION_ROLES:
        chosen = spec.buckets
        # An explicit buckets= wins over the preset's for the main duration histogram.
        if chosen is None or (spec.role == "request_duration_seconds" and tuple(buckets) != DEFAULT_BUCKETS):
            chosen = tuple(buckets)
    else:
        chosen = spec.buckets if spec.buckets is not None else tuple(size_buckets)
    return Histogram(spec.name, doc, labelnames=labelnames, buckets=tuple(chosen), registry=None)


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
    scheme = naming(
        namespace, preset, names, labels,
        request_size=request_size, response_size=response_size, unmatched_route=unmatched_route,
    )
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
