"""The collector's own ``/metrics``, written with the metricslib SDK (we eat our own cooking).

Where a number means what one of Prometheus's own metrics means, it carries
Prometheus's name (``prometheus_tsdb_head_series``,
``prometheus_target_interval_length_seconds``, ...), so the "Prometheus
stats" dashboards and alerts people already have read it unchanged; what
has no Prometheus equivalent is ``metricslib_*``. docs/collector.md lists
them all.

Almost everything is read at scrape time from the parts' stats, so nothing
on the ingestion or query path pays for it; HTTP requests and queries are
timed by the two hooks :meth:`SelfMetrics.observe_http` and
:meth:`SelfMetrics.timed`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from metricslib.collector.rules.metrics import RuleMetrics
from metricslib.collector.scrape.counters import ScrapeCounters
from metricslib.collector.scrape.stats import ScrapeStats, WindowQuantiles
from metricslib.collector.storage.store import Store
from metricslib.collector.web.api.v1 import EngineLike, QueryResultLike
from metricslib.exposition import choose_encoder
from metricslib.instruments import Counter, Histogram
from metricslib.metric_families import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from metricslib.model import MetricFamily, Sample
from metricslib.process import register_default_collectors
from metricslib.registry import Registry, SupportsCollect

__all__ = ["SelfMetrics", "http_handler_label"]

# Prometheus's buckets for its own HTTP metrics.
_DURATION_BUCKETS = (0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120)
_SIZE_BUCKETS = tuple(100 * 8**i for i in range(9))
_PLAIN_ROUTES = frozenset(
    {"/", "/federate", "/metrics", "/graph", "/targets", "/status", "/flags", "/config",
     "/-/healthy", "/-/ready", "/-/reload", "/-/quit"}
)


def http_handler_label(path: str, status: int) -> str:
    """The ``handler`` label of a request: its route, never the raw path (bounded cardinality)."""
    if path in _PLAIN_ROUTES:
        return path
    if path.startswith("/static/"):
        return "/static/*filepath"
    if path.startswith("/api/v1/label/") and path.endswith("/values"):
        return "/api/v1/label/:name/values"
    if path.startswith("/api/v1/") and status != 404:
        return path
    return "other"


class _CollectorLike(Protocol):
    stats: ScrapeStats
    last_reload_success: bool
    last_reload_success_time: float

    @property
    def ready(self) -> bool: ...

    @property
    def scrape_counters(self) -> ScrapeCounters: ...

    def targets(self, state: str = "any") -> dict[str, object]: ...

    def pool_sizes(self) -> dict[str, tuple[int, int]]: ...


def _summary(name: str, doc: str, label_names: Sequence[str],
             items: Iterable[tuple[Sequence[str], WindowQuantiles]]) -> SummaryMetricFamily:
    family = SummaryMetricFamily(name, doc, labels=list(label_names))
    for values, window in items:
        labels = dict(zip(label_names, values, strict=True))
        for q, v in window.quantiles():
            family.samples.append(Sample(name, {**labels, "quantile": str(q)}, v))
        family.add_metric(list(values), window.count, window.total)
    return family


class _StateCollector:
    def __init__(self, owner: SelfMetrics, store: Store, collector: _CollectorLike, queues: Sequence[object]) -> None:
        self._owner = owner
        self._store = store
        self._collector = collector
        self._queues = queues

    def collect(self) -> Iterable[MetricFamily]:
        yield from self._tsdb()
        yield from self._scrape()
        yield from self._engine()
        yield from self._config()
        yield from self._metricslib()

    def _tsdb(self) -> Iterable[MetricFamily]:
        stats = self._store.stats()
        yield GaugeMetricFamily("prometheus_tsdb_head_series", "Total number of series in the head block.",
                                value=stats.series)
        yield CounterMetricFamily("prometheus_tsdb_head_series_created", "Total number of series created in the head",
                                  value=stats.series_created)
        yield CounterMetricFamily("prometheus_tsdb_head_series_removed", "Total number of series removed in the head",
                                  value=stats.series_removed)
        yield CounterMetricFamily("prometheus_tsdb_head_samples_appended", "Total number of appended samples.",
                                  value=stats.samples_appended)
        yield GaugeMetricFamily("prometheus_tsdb_head_chunks", "Total number of chunks in the head block.",
                                value=stats.chunks)
        yield CounterMetricFamily("prometheus_tsdb_out_of_order_samples", "Total number of out of order samples "
                                  "ingestion failed attempts due to OOO support being disabled.",
                                  value=stats.out_of_order_dropped)
        yield GaugeMetricFamily("prometheus_tsdb_storage_blocks_bytes", "The number of bytes that are currently "
                                "used for local storage by all blocks.", value=stats.bytes_on_disk)
        yield GaugeMetricFamily("prometheus_tsdb_retention_limit_bytes", "Max number of bytes to be retained in "
                                "the tsdb blocks, configured 0 means disabled", value=self._store.retention_bytes)
        if stats.max_time_ms is not None:
            yield GaugeMetricFamily("prometheus_tsdb_head_max_time", "Maximum timestamp of the head block. "
                                    "The unit is decided by the library consumer.", value=stats.max_time_ms)
            yield GaugeMetricFamily("prometheus_tsdb_head_max_time_seconds", "Maximum timestamp of the head "
                                    "block.", value=stats.max_time_ms / 1000)

    def _scrape(self) -> Iterable[MetricFamily]:
        st = self._collector.stats
        sizes = self._collector.pool_sizes()
        with st.lock:
            intervals = sorted(st.interval_length.items())
            syncs = sorted(st.sync_length.items())
            pool_syncs = dict(st.pool_syncs)
            counters = [
                ("prometheus_target_scrapes_exceeded_sample_limit", "Total number of scrapes that hit the "
                 "sample limit and were rejected.", st.exceeded_sample_limit),
                ("prometheus_target_scrapes_exceeded_body_size_limit", "Total number of scrapes that hit the "
                 "body size limit", st.exceeded_body_size_limit),
                ("prometheus_target_scrapes_sample_out_of_order", "Total number of samples rejected due to not "
                 "being out of the expected order.", st.sample_out_of_order),
                ("prometheus_target_scrape_pools", "Total number of scrape pool creation attempts.",
                 st.pools_created),
                ("prometheus_target_scrape_pools_failed", "Total number of scrape pool creations that failed.", 0),
                ("prometheus_target_scrape_pool_reloads", "Total number of scrape pool reloads.", st.pool_reloads),
                ("prometheus_target_scrape_pool_reloads_failed", "Total number of failed scrape pool reloads.",
                 st.pool_reloads_failed),
            ]
            yield _summary("prometheus_target_interval_length_seconds", "Actual intervals between scrapes.",
                           ["interval"], [([k], w) for k, w in intervals])
            yield _summary("prometheus_target_sync_length_seconds", "Actual interval to sync the scrape pool.",
                           ["scrape_job"], [([k], w) for k, w in syncs])
        for name, doc, value in counters:
            yield CounterMetricFamily(name, doc, value=value)
        targets = GaugeMetricFamily("prometheus_target_scrape_pool_targets",
                                    "Current number of targets in this scrape pool.", labels=["scrape_job"])
        synced = CounterMetricFamily("prometheus_target_scrape_pool_sync",
                                     "Total number of syncs that were executed on a scrape pool.", labels=["scrape_job"])
        discovered = GaugeMetricFamily("prometheus_sd_discovered_targets", "Current number of discovered targets.",
                                       labels=["config", "name"])
        for job, (active, dropped) in sizes.items():
            targets.add_metric([job], active)
            synced.add_metric([job], pool_syncs.get(job, 0))
            discovered.add_metric([job, "scrape"], active + dropped)
        yield targets
        yield synced
        yield discovered

    def _engine(self) -> Iterable[MetricFamily]:
        owner = self._owner
        # prometheus_engine_queries and _concurrent_max come from the query gate
        # (promql/gate.py), which is what actually holds queries back.
        with owner.lock:
            yield _summary("prometheus_engine_query_duration_seconds", "Query timings", ["slice"],
                           [(["inner_eval"], owner.query_durations)])

    def _config(self) -> Iterable[MetricFamily]:
        c = self._collector
        yield GaugeMetricFamily("prometheus_config_last_reload_successful", "Whether the last configuration "
                                "reload attempt was successful.", value=1 if c.last_reload_success else 0)
        yield GaugeMetricFamily("prometheus_config_last_reload_success_timestamp_seconds", "Timestamp of the "
                                "last successful configuration reload.", value=c.last_reload_success_time)
        yield GaugeMetricFamily("prometheus_ready", "Whether Prometheus startup was fully completed and the "
                                "server is ready for normal operation.", value=1 if c.ready else 0)
        info = GaugeMetricFamily("prometheus_build_info", "A metric with a constant '1' value labeled by version, "
                                 "revision, branch, and goversion from which prometheus was built.",
                                 labels=["branch", "goversion", "revision", "tags", "version"])
        b = self._owner.build_info
        info.add_metric([b.get("branch", ""), b.get("goVersion", ""), b.get("revision", ""), "",
                         b.get("version", "")], 1)
        yield info

    def _metricslib(self) -> Iterable[MetricFamily]:
        stats = self._store.stats()
        yield GaugeMetricFamily("metricslib_storage_series", "Series in the store.", value=stats.series)
        yield GaugeMetricFamily("metricslib_storage_samples", "Samples in the store.", value=stats.samples)
        yield GaugeMetricFamily(
            "metricslib_storage_head_samples", "Samples not yet cut into chunks.", value=stats.head_samples
        )
        yield GaugeMetricFamily(
            "metricslib_storage_size_bytes", "Bytes the store takes on disk.", value=stats.bytes_on_disk
        )
        wal = self._store.wal
        if wal is not None:
            yield GaugeMetricFamily(
                "prometheus_tsdb_wal_segment_current", "Write-ahead log segment being written.",
                value=wal.segment,
            )
            yield CounterMetricFamily(
                "prometheus_tsdb_wal_writes_failed", "Commits refused because the write-ahead log could not be written.",
                value=wal.writes_failed,
            )
        yield CounterMetricFamily(
            "prometheus_tsdb_wal_corruptions",
            "Damaged write-ahead log tails truncated at start.",
            value=self._store.wal_replay.corruptions,
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
        yield CounterMetricFamily(
            "prometheus_target_scrapes_sample_duplicate_timestamp",
            "Samples dropped because their series came earlier in the same scrape.",
            value=self._collector.scrape_counters.duplicate_timestamp,
        )
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


class _TimedEngine:
    """An engine whose queries are timed into the owner's metrics."""

    def __init__(self, owner: SelfMetrics, engine: EngineLike) -> None:
        self._owner = owner
        self._engine = engine

    def instant_query(self, query: str, t_ms: int) -> QueryResultLike:
        with self._owner.query_timer():
            return self._engine.instant_query(query, t_ms)

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResultLike:
        with self._owner.query_timer():
            return self._engine.range_query(query, start_ms, end_ms, step_ms)


class _QueryTimer:
    """Times one query into ``prometheus_engine_query_duration_seconds``."""

    def __init__(self, owner: SelfMetrics) -> None:
        self._owner = owner
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self._start
        with self._owner.lock:
            self._owner.query_durations.observe(elapsed)


class SelfMetrics:
    """A private registry with process metrics and the collector's own state."""

    def __init__(
        self,
        store: Store,
        collector: _CollectorLike,
        queues: Sequence[object] = (),
        *,
        build_info: Mapping[str, str] | None = None,
        parts: Sequence[SupportsCollect] = (),
        rules: RuleMetrics | None = None,
    ) -> None:
        self.registry = Registry()
        self.lock = threading.Lock()
        self.build_info = dict(build_info or {})
        self.query_durations = WindowQuantiles()
        register_default_collectors(self.registry)
        self._requests = Counter("prometheus_http_requests", "Counter of HTTP requests.", ["code", "handler"],
                                 registry=self.registry)
        self._durations = Histogram("prometheus_http_request_duration_seconds", "Histogram of latencies for HTTP "
                                    "requests.", ["handler"], buckets=_DURATION_BUCKETS, registry=self.registry)
        self._sizes = Histogram("prometheus_http_response_size_bytes", "Histogram of response size for HTTP "
                                "requests.", ["handler"], buckets=_SIZE_BUCKETS, registry=self.registry)
        self.registry.register(_StateCollector(self, store, collector, queues))
        for part in parts:  # stages with metrics of their own (the notifier's prometheus_notifications_*)
            self.registry.register(part)
        if rules is not None:
            self.registry.register(rules)

    def observe_http(self, path: str, status: int, seconds: float, size: int) -> None:
        """One answered request (the HTTP server's ``observe`` hook)."""
        handler = http_handler_label(path, status)
        self._requests.labels(str(status), handler).inc()
        self._durations.labels(handler).observe(max(seconds, 0.0))
        self._sizes.labels(handler).observe(size)

    def timed(self, engine: EngineLike) -> EngineLike:
        """``engine`` with its queries counted in ``prometheus_engine_*``."""
        return _TimedEngine(self, engine)

    def query_timer(self) -> _QueryTimer:
        return _QueryTimer(self)

    def render(self, accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


