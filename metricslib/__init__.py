"""metricslib: Prometheus-compatible metrics for Python.

The SDK API mirrors ``prometheus_client``: most code ports by changing
imports. Importing this package registers the process, platform and GC
collectors on ``REGISTRY``; they capture nothing at import (each scrape
reads ``/proc/self``), so pre-fork servers report each worker correctly.

The serving and pushing helpers (``start_http_server``, ``make_wsgi_app``,
``make_asgi_app``, ``push_to_gateway``, ...) are importable from here too, as
from ``prometheus_client``; their modules load on first use.
"""

import importlib
import typing

from metricslib.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    CONTENT_TYPE_PLAIN,
    choose_encoder,
    generate_latest,
    generate_openmetrics,
    render_openmetrics,
    render_text,
)
from metricslib.instruments import (
    DEFAULT_BUCKETS,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
)
from metricslib.metric_families import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from metricslib.model import Exemplar, Metric, MetricFamily, Sample
from metricslib.process import (
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    register_default_collectors,
)
from metricslib.registry import (
    REGISTRY,
    Collector,
    CollectorRegistry,
    Registry,
    disable_created_metrics,
    enable_created_metrics,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_PLAIN",
    "DEFAULT_BUCKETS",
    "GC_COLLECTOR",
    "PLATFORM_COLLECTOR",
    "PROCESS_COLLECTOR",
    "REGISTRY",
    "Collector",
    "CollectorRegistry",
    "Counter",
    "CounterMetricFamily",
    "Enum",
    "Exemplar",
    "GCCollector",
    "Gauge",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "Histogram",
    "HistogramMetricFamily",
    "Info",
    "InfoMetricFamily",
    "Metric",
    "MetricFamily",
    "PlatformCollector",
    "ProcessCollector",
    "Registry",
    "Sample",
    "StateSetMetricFamily",
    "Summary",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
    "basic_auth_handler",
    "choose_encoder",
    "default_handler",
    "delete_from_gateway",
    "disable_created_metrics",
    "enable_created_metrics",
    "generate_latest",
    "generate_openmetrics",
    "make_asgi_app",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "register_default_collectors",
    "render_openmetrics",
    "render_text",
    "start_http_server",
    "start_wsgi_server",
]

PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR = register_default_collectors(REGISTRY)

if typing.TYPE_CHECKING:
    from metricslib.push import (
        basic_auth_handler,
        default_handler,
        delete_from_gateway,
        push_to_gateway,
        pushadd_to_gateway,
    )
    from metricslib.serve import make_asgi_app, make_wsgi_app, start_http_server, start_wsgi_server

# Loaded on first access: plain instrumentation does not pay for the HTTP stack.
_LAZY = {
    "basic_auth_handler": "metricslib.push",
    "default_handler": "metricslib.push",
    "delete_from_gateway": "metricslib.push",
    "make_asgi_app": "metricslib.serve",
    "make_wsgi_app": "metricslib.serve",
    "push_to_gateway": "metricslib.push",
    "pushadd_to_gateway": "metricslib.push",
    "start_http_server": "metricslib.serve",
    "start_wsgi_server": "metricslib.serve",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metricslib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
