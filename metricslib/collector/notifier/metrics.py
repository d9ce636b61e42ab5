"""The notifier's self-metrics, named as Prometheus names them, read from its counters at scrape time.

``prometheus_notifications_sent_total{alertmanager}`` counts alerts delivered
(a 2xx), ``..._errors_total{alertmanager}`` alerts in failed requests (each
attempt), ``..._dropped_total`` alerts given up on (queue overflow, no
Alertmanager, retries exhausted, shutdown), ``..._queue_length`` the longest
per-Alertmanager queue, ``..._latency_seconds{alertmanager}`` a summary of
successful requests' durations (quantiles 0.5, 0.9 and 0.99 over the last ten
minutes, as Prometheus's, computed exactly from the kept observations).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from metricslib.metric_families import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from metricslib.model import MetricFamily, Sample

if TYPE_CHECKING:
    from metricslib.collector.notifier.manager import NotifierManager

__all__ = ["QUANTILES", "NotifierMetrics"]

#: The quantiles Prometheus's notifier summary reports, over its last ten minutes.
QUANTILES = (0.5, 0.9, 0.99)


class NotifierMetrics:
    """A registry collector over one :class:`NotifierManager`."""

    def __init__(self, manager: NotifierManager) -> None:
        self._manager = manager

    def collect(self) -> Iterable[MetricFamily]:
        m = self._manager
        stats = sorted(m.stats().items())
        latency = SummaryMetricFamily("prometheus_notifications_latency_seconds",
                                      "Latency quantiles for sending alert notifications.",
                                      labels=["alertmanager"])
        errors = CounterMetricFamily("prometheus_notifications_errors",
                                     "Total number of sent alerts affected by errors.", labels=["alertmanager"])
        sent = CounterMetricFamily("prometheus_notifications_sent",
                                   "Total number of alerts sent.", labels=["alertmanager"])
        now = m.now()
        for url, s in stats:
            for q, value in zip(QUANTILES, s.quantiles(now, QUANTILES), strict=True):
                latency.samples.append(Sample(latency.name, {"alertmanager": url, "quantile": str(q)}, value))
            latency.add_metric([url], s.latency_count, s.latency_sum)
            errors.add_metric([url], s.errors)
            sent.add_metric([url], s.sent)
        yield latency
        yield errors
        yield sent
        yield CounterMetricFamily("prometheus_notifications_dropped",
                                  "Total number of alerts dropped due to errors when sending to Alertmanager.",
                                  value=m.dropped_total())
        yield GaugeMetricFamily("prometheus_notifications_queue_length",
                                "The number of alert notifications in the queue.", value=m.queue_length())
        yield GaugeMetricFamily("prometheus_notifications_queue_capacity",
                                "The capacity of the alert notifications queue.", value=m.capacity)
        yield GaugeMetricFamily("prometheus_notifications_alertmanagers_discovered",
                                "The number of alertmanagers discovered and active.", value=m.discovered())
