"""``metricslib.__all__`` is exactly the public namespace."""

from __future__ import annotations

import types

import metricslib


def test_every_name_in_all_exists() -> None:
    missing = [name for name in metricslib.__all__ if not hasattr(metricslib, name)]
    assert missing == []


def test_no_public_name_is_missing_from_all() -> None:
    public = {
        name
        for name, value in vars(metricslib).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - set(metricslib.__all__) == set()
    assert len(metricslib.__all__) == len(set(metricslib.__all__))


def test_prometheus_client_spellings_are_aliases() -> None:
    assert metricslib.CollectorRegistry is metricslib.Registry
    assert metricslib.Metric is metricslib.MetricFamily
    assert metricslib.CONTENT_TYPE_LATEST == "text/plain; version=0.0.4; charset=utf-8"


def test_names_a_prometheus_client_user_imports_exist() -> None:
    for name in (
        "Counter", "Gauge", "Histogram", "Summary", "Info", "Enum", "REGISTRY",
        "generate_latest", "choose_encoder", "CounterMetricFamily", "GaugeMetricFamily",
        "HistogramMetricFamily", "SummaryMetricFamily", "InfoMetricFamily",
        "StateSetMetricFamily", "UnknownMetricFamily", "Sample", "Metric",
    ):  # fmt: skip
        assert name in metricslib.__all__, name
