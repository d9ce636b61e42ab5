"""Registry: registration and clashes, default labels, _created switch, views."""

from __future__ import annotations

import platform
from collections.abc import Iterator

import pytest

import metricslib
from metricslib import (
    REGISTRY,
    Collector,
    Counter,
    Gauge,
    GaugeMetricFamily,
    Histogram,
    MetricFamily,
    Registry,
    Summary,
    generate_latest,
)
from metricslib.errors import DuplicateMetricError, InvalidLabelsError, InvalidNameError


class StaticCollector:
    """A prometheus_client-style custom collector without describe()."""

    def __init__(self, name: str = "queue_depth") -> None:
        self.name = name
        self.collect_calls = 0

    def collect(self) -> Iterator[MetricFamily]:
        self.collect_calls += 1
        g = GaugeMetricFamily(self.name, "Jobs waiting", labels=["queue"])
        g.add_metric(["emails"], 7)
        yield g


def test_duplicate_name_error_names_the_metric_and_the_owner() -> None:
    registry = Registry()
    Counter("jobs", "Jobs", registry=registry)
    with pytest.raises(DuplicateMetricError) as info:
        Gauge("jobs_total", "clashes with the counter's sample", registry=registry)
    message = str(info.value)
    assert "'jobs_total'" in message
    assert "Counter('jobs'" in message
    assert "Registry()" in message  # tells the user how to avoid it


def test_failed_registration_leaves_registry_unchanged() -> None:
    registry = Registry()
    Histogram("lat", "L", registry=registry)
    with pytest.raises(DuplicateMetricError):
        Summary("lat", "clash on lat_count/lat_sum", registry=registry)
    assert [f.type for f in registry.collect()] == ["histogram"]


def test_same_collector_twice_is_refused() -> None:
    registry = Registry()
    collector = StaticCollector()
    registry.register(collector)
    with pytest.raises(DuplicateMetricError, match="already registered"):
        registry.register(collector)


def test_unregister_frees_the_names() -> None:
    registry = Registry()
    c = Counter("jobs", "Jobs", registry=registry)
    registry.unregister(c)
    registry.unregister(c)  # unknown collector: ignored
    assert list(registry.collect()) == []
    Counter("jobs", "Jobs again", registry=registry)


def test_fresh_registry_per_test_avoids_duplicates() -> None:
    for _ in range(3):
        registry = Registry()
        Counter("jobs", "Jobs", registry=registry).inc()
        assert registry.get_sample_value("jobs_total") == 1.0


def test_custom_collector_without_describe_is_described_by_collect() -> None:
    registry = Registry()
    collector = StaticCollector()
    registry.register(collector)
    assert collector.collect_calls == 1
    with pytest.raises(DuplicateMetricError, match="queue_depth"):
        Gauge("queue_depth", "clash", registry=registry)
    assert registry.get_sample_value("queue_depth", {"queue": "emails"}) == 7.0


def test_collector_base_class_describe_opts_out_of_checks() -> None:
    class Mine(Collector):
        def collect(self) -> Iterator[MetricFamily]:
            yield GaugeMetricFamily("mine", "Mine", value=1)

    registry = Registry()
    registry.register(Mine())
    assert registry.get_sample_value("mine") == 1.0


def test_collector_may_register_during_collect_without_deadlock() -> None:
    registry = Registry()

    class SelfRegistering:
        def collect(self) -> Iterator[MetricFamily]:
            if registry.get_target_info() is None:
                registry.set_target_info({"app": "x"})
            yield GaugeMetricFamily("late", "Late", value=1)

        def describe(self) -> list[MetricFamily]:
            return []

    registry.register(SelfRegistering())
    assert b"late 1.0" in generate_latest(registry)


# -- default labels -----------------------------------------------------------------------


def test_default_labels_on_every_sample_and_own_label_wins() -> None:
    registry = Registry(default_labels={"hostname": "web-1", "region": "eu"})
    c = Counter("requests", "Requests", ["method", "region"], registry=registry)
    c.labels("GET", "us").inc()
    Gauge("up", "Up", registry=registry).set(1)
    samples = [s for f in registry.collect() for s in f.samples if not s.name.endswith("_created")]
    assert samples[0].labels == {"method": "GET", "region": "us", "hostname": "web-1"}
    assert samples[1].labels == {"hostname": "web-1", "region": "eu"}
    text = generate_latest(registry).decode()
    assert 'requests_total{hostname="web-1",method="GET",region="us"} 1.0' in text
    assert 'up{hostname="web-1",region="eu"} 1.0' in text


def test_set_default_labels_changes_later_expositions() -> None:
    registry = Registry()
    Gauge("up", "Up", registry=registry).set(1)
    assert "up 1.0" in generate_latest(registry).decode()
    registry.set_default_labels({"hostname": 'we"ird\n'})
    assert 'up{hostname="we\\"ird\\n"} 1.0' in generate_latest(registry).decode()
    assert registry.default_labels == {"hostname": 'we"ird\n'}
    registry.set_default_labels({})
    assert "up 1.0" in generate_latest(registry).decode()


def test_get_sample_value_with_or_without_default_labels() -> None:
    registry = Registry(default_labels={"hostname": "web-1"})
    Counter("requests", "Requests", ["method"], registry=registry).labels("GET").inc()
    assert registry.get_sample_value("requests_total", {"method": "GET"}) == 1.0
    assert registry.get_sample_value("requests_total", {"method": "GET", "hostname": "web-1"}) == 1.0
    assert registry.get_sample_value("requests_total", {"method": "GET", "hostname": "web-2"}) is None


@pytest.mark.parametrize(
    ("labels", "error", "needle"),
    [
        ({"le": "1"}, InvalidLabelsError, "'le'"),
        ({"quantile": "1"}, InvalidLabelsError, "'quantile'"),
        ({"__name__": "x"}, InvalidLabelsError, "'__name__'"),
        ({"bad-name": "x"}, InvalidNameError, "'bad-name'"),
    ],
)
def test_bad_default_labels(labels: dict[str, str], error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        Registry(default_labels=labels)
    registry = Registry(default_labels={"ok": "1"})
    with pytest.raises(error, match=needle):
        registry.set_default_labels(labels)
    assert registry.default_labels == {"ok": "1"}


def test_default_registry_supports_default_labels() -> None:
    assert REGISTRY.default_labels == {}
    major, minor, patch = platform.python_version_tuple()
    labels = {
        "implementation": platform.python_implementation(),
        "major": major,
        "minor": minor,
        "patchlevel": patch,
        "version": platform.python_version(),
    }
    try:
        REGISTRY.set_default_labels({"hostname": "h"})
        assert REGISTRY.get_sample_value("python_info", {**labels, "hostname": "h"}) == 1.0
        assert 'python_info{hostname="h",implementation=' in generate_latest().decode()
    finally:
        REGISTRY.set_default_labels({})


# -- _created, target info, restricted views ----------------------------------------------


def test_created_samples_can_be_switched_off_per_registry() -> None:
    on = Registry()
    off = Registry(created_samples=False)
    for registry in (on, off):
        Counter("jobs", "Jobs", registry=registry).inc()
    assert on.get_sample_value("jobs_created") is not None
    assert off.get_sample_value("jobs_created") is None
    assert off.get_sample_value("jobs_total") == 1.0


def test_disable_created_metrics_is_process_wide_unless_registry_chooses() -> None:
    follows = Registry()
    keeps = Registry(created_samples=True)
    for registry in (follows, keeps):
        Counter("jobs", "Jobs", registry=registry)
    metricslib.disable_created_metrics()
    try:
        assert follows.get_sample_value("jobs_created") is None
        assert keeps.get_sample_value("jobs_created") is not None
    finally:
        metricslib.enable_created_metrics()
    assert follows.get_sample_value("jobs_created") is not None


def test_target_info() -> None:
    registry = Registry(target_info={"service": "api"}, default_labels={"hostname": "h"})
    assert registry.get_sample_value("target_info", {"service": "api"}) == 1.0
    assert generate_latest(registry).startswith(b'# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{hostname="h",service="api"} 1.0\n')
    registry.set_target_info(None)
    assert registry.get_sample_value("target_info", {"service": "api"}) is None


def test_restricted_registry_keeps_only_named_samples() -> None:
    registry = Registry()
    Counter("jobs", "Jobs", registry=registry).inc()
    Gauge("up", "Up", registry=registry).set(1)
    view = registry.restricted_registry(["jobs_total"])
    families = list(view.collect())
    assert [(f.name, [s.name for s in f.samples]) for f in families] == [("jobs", ["jobs_total"])]
    assert generate_latest(view) == b"# HELP jobs_total Jobs\n# TYPE jobs_total counter\njobs_total 1.0\n"


def test_auto_describe_false_does_not_call_collect_at_registration() -> None:
    registry = Registry(auto_describe=False)
    collector = StaticCollector()
    registry.register(collector)
    assert collector.collect_calls == 0
    assert registry.get_sample_value("queue_depth", {"queue": "emails"}) == 7.0
