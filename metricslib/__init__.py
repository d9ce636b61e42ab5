"""metricslib: Prometheus-compatible metrics for Python.

The SDK API mirrors ``prometheus_client``: most code ports by changing
imports. Importing this package registers the process, platform and GC
collectors on ``REGISTRY``; they capture nothing at import (each scrape
reads ``/proc/self``), so pre-fork servers report each worker correctly.
"""

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
    "choose_encoder",
    "disable_created_metrics",
    "enable_created_metrics",
    "generate_latest",
    "generate_openmetrics",
    "register_default_collectors",
    "render_openmetrics",
    "render_text",
]

PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR = register_default_collectors(REGISTRY)
