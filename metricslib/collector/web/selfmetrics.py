"""The collector's own ``/metrics``, written with the metricslib SDK (we eat our own cooking).

Everything is read at scrape time from the parts' stats, so nothing on the
ingestion or query path pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from metricslib.collector.rules.metrics import RuleMetrics
from metricslib.collector.storage.store import Store
from metricslib.exposition import choose_encoder
from metricslib.metric_families import CounterMetricFamily, GaugeMetricFamily
from metricslib.model import MetricFamily
from metricslib.process import register_default_collectors
from metricslib.registry import Registry

__all__ = ["SelfMetrics"]


class _CollectorLike(Protocol):
    def targets(self, state: str = "any") -> dict[str, object]: ...


class _Collector:
    def __init__(self, store: Store, collector: _CollectorLike, queues: Sequence[object]) -> None:
        self._store = store
        self._collector = collector
        self._queues = queues

    def collect(self) -> Iterable[MetricFamily]:
        stats = self._store.stats()
        yield GaugeMetricFamily("metricslib_storage_series", "Series in the store.", value=stats.series)
        yield GaugeMetricFamily("metricslib_storage_samples", "Samples in the store.", value=stats.samples)
        yield GaugeMetricFamily(
            "metricslib_storage_head_samples", "Samples not yet cut into chunks.", value=stats.head_samples
        )
        yield GaugeMetricFamily(
            "metricslib_storage_size_bytes", "Bytes the store takes on disk.", value=stats.bytes_on_disk
        )
        yield CounterMetricFamily(
            "metricslib_storage_out_of_order_samples",
            "Samples rejected because they were older than their series' newest.",
            value=stats.out_of_order_dropped,
        )
        health = GaugeMetricFamily(
            "metricslib_scrape_targets", "Active scrape targets by pool and health.", labels=["pool", "health"]
        )
        counts: dict[tuple[str, str], int] = {}
        active = self._collector.targets("active").get("activeTargets", [])
        for target in active if isinstance(active, list) else []:
            key = (str(target.get("scrapePool", "")), str(target.get("health", "unknown")))
            counts[key] = counts.get(key, 0) + 1
        for (pool, state), count in sorted(counts.items()):
            health.add_metric([pool, state], count)
        yield health
        if self._queues:
            sent = CounterMetricFamily(
                "metricslib_remote_write_samples", "Samples handled by remote write.", labels=["remote", "outcome"]
            )
            for queue in self._queues:
                name = getattr(getattr(queue, "config", None), "display_name", "")
                qstats = getattr(queue, "stats", None)
                for outcome in ("sent", "dropped", "failed", "retried"):
                    sent.add_metric([name, outcome], getattr(qstats, f"samples_{outcome}", 0))
            yield sent


class SelfMetrics:
    """A private registry with process metrics and the collector's own state."""

    def __init__(self, store: Store, collector: _CollectorLike, queues: Sequence[object] = (),
                 rules: RuleMetrics | None = None) -> None:
        self.registry = Registry()
        register_default_collectors(self.registry)
        self.registry.register(_Collector(store, collector, queues))
        if rules is not None:
            self.registry.register(rules)

    def render(self, accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
