"""Metric names and labels of the HTTP middleware: our default, presets, overrides.

A preset reproduces another library's default metric set (names, types,
label names, label values, buckets) so dashboards and alerts written for it
keep working after the switch. Everything here is data resolved once, at
construction (sans-I/O); :mod:`metricslib._http_metrics` builds the
instruments and the per-request path never looks at the preset again.

A metric's labels are ``(label name, source)`` pairs. Sources: ``method``,
``code`` (``"200"``), ``code_class`` (``"2xx"``), ``route`` (the route
template, or the request path when the scheme labels by path),
``exception`` (class name) and ``=VALUE`` (a constant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from metricslib.errors import InvalidMetricError

__all__ = ["PRESETS", "ROLES", "MetricSpec", "Naming", "naming"]

#: What each metric of the set is for, by role.
ROLES = (
    "requests_total",
    "request_duration_seconds",
    "request_duration_highr_seconds",
    "requests_in_flight",
    "request_exceptions_total",
    "request_size_bytes",
    "response_size_bytes",
)
_LABELS = ("method", "code", "route")
#: Roles observed with the request's duration.
DURATION_ROLES = ("request_duration_seconds", "request_duration_highr_seconds")

# prometheus_client's (and so prometheus-flask-exporter's and starlette_exporter's) defaults.
_CLIENT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_HIGHR_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5,
    5.0, 7.5, 10.0, 30.0, 60.0,
)
_LOWR_BUCKETS = (0.1, 0.5, 1.0)


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the set: role, name, type, labels and (histograms) buckets.

    ``buckets=None`` takes the middleware's ``buckets`` (durations) or
    ``size_buckets`` (sizes) option.
    """

    role: str
    name: str
    kind: str  # counter | gauge | histogram | summary
    labels: tuple[tuple[str, str], ...]
    buckets: tuple[float, ...] | None = None

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.labels)


@dataclass(frozen=True)
class Naming:
    """A resolved metric set and the few request-level rules that go with it.

    ``by_path``: the ``route`` source is the request path (not the template).
    ``unmatched``: the route value of requests no route matched, or ``None``
    when such requests (and 405s) are not recorded at all.
    ``mount_suffix``: appended to a mount of a non-router app (Starlette).
    ``size_from_header``: response size is the Content-Length header, not the bytes sent.
    ``unmatched_405``: a 405 counts as unmatched (the path matched, the method did not).
    """

    metrics: tuple[MetricSpec, ...]
    lowercase_methods: bool = False
    by_path: bool = False
    unmatched: str | None = "<unmatched>"
    mount_suffix: str = "/{path:path}"
    size_from_header: bool = False
    unmatched_405: bool = False

    def spec(self, role: str) -> MetricSpec | None:
        for metric in self.metrics:
            if metric.role == role:
                return metric
        return None

    def name(self, role: str) -> str:
        metric = self.spec(role)
        if metric is None:
            raise KeyError(role)
        return metric.name

    @property
    def labels(self) -> tuple[str, ...]:
        """The request counter's label names."""
        metric = self.spec("requests_total")
        return metric.label_names if metric is not None else ()


def _ours(ns: str, labels: Sequence[str], request_size: bool, response_size: bool) -> list[MetricSpec]:
    request = tuple((label, label) for label in labels)
    exception = (*((label, label) for label in ("method", "route") if label in labels), ("exception", "exception"))
    specs = [
        MetricSpec("requests_total", f"{ns}_requests_total", "counter", request),
        MetricSpec("request_duration_seconds", f"{ns}_request_duration_seconds", "histogram", request),
        MetricSpec("requests_in_flight", f"{ns}_requests_in_flight", "gauge", ()),
        MetricSpec("request_exceptions_total", f"{ns}_request_exceptions_total", "counter", exception),
    ]
    if request_size:
        specs.append(MetricSpec("request_size_bytes", f"{ns}_request_size_bytes", "histogram", request))
    if response_size:
        specs.append(MetricSpec("response_size_bytes", f"{ns}_response_size_bytes", "histogram", request))
    return specs


def _promhttp(ns: str) -> Naming:
    # Go's promhttp, as the usual InstrumentHandler* wiring names it: the
    # scenario's `image_gallery_requests_total{code,method}` and
    # `image_gallery_in_flight_requests`.
    specs = _ours(ns, ("code", "method"), False, False)
    specs[2] = replace(specs[2], name=f"{ns}_in_flight_requests")
    return Naming(tuple(specs), lowercase_methods=True)


def _flask_exporter(ns: str) -> Naming:
    # PrometheusMetrics(app) defaults: prefix "flask", group_by="path" (the raw
    # request path), status as the number, exceptions always status="500".
    prefix = "flask" if ns == "http" else ns
    by_status = (("method", "method"), ("status", "code"))
    return Naming(
        (
            MetricSpec("requests_total", f"{prefix}_http_request_total", "counter", by_status),
            MetricSpec(
                "request_duration_seconds", f"{prefix}_http_request_duration_seconds", "histogram",
                (("method", "method"), ("path", "route"), ("status", "code")), _CLIENT_BUCKETS,
            ),
            MetricSpec(
                "request_exceptions_total", f"{prefix}_http_request_exceptions_total", "counter",
                (("method", "method"), ("status", "=500")),
            ),
        ),
        by_path=True,
    )


def _starlette_exporter(ns: str) -> Naming:
    # PrometheusMiddleware defaults: prefix and app_name "starlette",
    # group_paths=True, filter_unhandled_paths=True (unmatched requests are
    # not recorded), in-progress gauge by method.
    prefix = "starlette" if ns == "http" else ns
    app = ("app_name", "=starlette")
    request = (("method", "method"), ("path", "route"), ("status_code", "code"), app)
    return Naming(
        (
            MetricSpec("requests_total", f"{prefix}_requests_total", "counter", request),
            MetricSpec(
                "request_duration_seconds", f"{prefix}_request_duration_seconds", "histogram",
                request, _CLIENT_BUCKETS,
            ),
            MetricSpec("requests_in_flight", f"{prefix}_requests_in_progress", "gauge", (("method", "method"), app)),
        ),
        unmatched=None,
        mount_suffix="",
        unmatched_405=True,
    )


def _fastapi_instrumentator(ns: str) -> Naming:
    # Instrumentator().instrument(app) defaults: status grouped as "2xx",
    # untemplated requests under handler "none", sizes from Content-Length
    # as summaries, one unlabelled high-resolution latency histogram.
    prefix = "" if ns == "http" else f"{ns}_"
    handler = (("handler", "route"),)
    return Naming(
        (
            MetricSpec(
                "requests_total", f"{prefix}http_requests_total", "counter",
                (("method", "method"), ("status", "code_class"), *handler),
            ),
            MetricSpec("request_size_bytes", f"{prefix}http_request_size_bytes", "summary", handler),
            MetricSpec("response_size_bytes", f"{prefix}http_response_size_bytes", "summary", handler),
            MetricSpec(
                "request_duration_highr_seconds", f"{prefix}http_request_duration_highr_seconds",
                "histogram", (), _HIGHR_BUCKETS,
            ),
            MetricSpec(
                "request_duration_seconds", f"{prefix}http_request_duration_seconds", "histogram",
                (("method", "method"), *handler), _LOWR_BUCKETS,
            ),
        ),
        unmatched="none",
        mount_suffix="",
        size_from_header=True,
    )


#: Preset name -> builder taking the namespace (``"http"``, the default, means
#: "that library's own default prefix").
PRESETS = {
    "promhttp": _promhttp,
    "prometheus_flask_exporter": _flask_exporter,
    "starlette_exporter": _starlette_exporter,
    "fastapi_instrumentator": _fastapi_instrumentator,
}
# Presets built from our own set, which the `labels` subset and the size options apply to.
_OURS_BASED = frozenset({"promhttp"})


def naming(
    namespace: str,
    preset: str | None = None,
    names: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
    *,
    request_size: bool = False,
    response_size: bool = False,
    unmatched_route: str = "<unmatched>",
) -> Naming:
    """Our set (``<namespace>_requests_total`` ...) or a preset's, then per-role
    ``names`` and a ``labels`` subset; unknown roles, labels or presets are errors."""
    if labels is not None:
        if isinstance(labels, str):
            raise InvalidMetricError(f"labels must be a sequence of label names, got the string {labels!r}")
        unknown = [label for label in labels if label not in _LABELS]
        if unknown or len(set(labels)) != len(labels):
            raise InvalidMetricError(
                f"labels {list(labels)!r}: each must be one of {', '.join(_LABELS)}, at most once"
            )
    if preset is None:
        scheme = Naming(tuple(_ours(namespace, tuple(labels or _LABELS), request_size, response_size)))
    elif preset not in PRESETS:
        raise InvalidMetricError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    else:
        scheme = PRESETS[preset](namespace)
        if preset in _OURS_BASED:
            specs = _ours(namespace, tuple(labels or scheme.labels), request_size, response_size)
            kept = {spec.role: spec.name for spec in scheme.metrics}
            scheme = replace(scheme, metrics=tuple(replace(s, name=kept.get(s.role, s.name)) for s in specs))
        else:
            for option, value in (("labels", labels), ("request_size", request_size), ("response_size", response_size)):
                if value:
                    raise InvalidMetricError(
                        f"preset {preset!r} reproduces that library's metric set as is; "
                        f"{option}= does not apply to it (rename single metrics with names=)"
                    )
    if unmatched_route != "<unmatched>":
        # Also where the preset drops unmatched requests: they are then kept
        # under this value (starlette_exporter's group_unhandled_paths).
        scheme = replace(scheme, unmatched=unmatched_route)
    if names:
        roles = {spec.role for spec in scheme.metrics}
        for role, name in names.items():
            if role not in roles:
                known = ", ".join(spec.role for spec in scheme.metrics)
                what = f"preset {preset!r}" if preset else "the default set"
                raise InvalidMetricError(f"names: unknown metric {role!r} for {what}; known: {known}")
            if not isinstance(name, str) or not name:
                raise InvalidMetricError(f"names[{role!r}] must be a metric name, got {name!r}")
        scheme = replace(
            scheme, metrics=tuple(replace(s, name=names.get(s.role, s.name)) for s in scheme.metrics)
        )
    return scheme
