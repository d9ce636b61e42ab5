"""``metricslib.__all__`` is exactly the public namespace."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

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


def test_serving_helpers_load_lazily_from_the_package() -> None:
    from metricslib import serve

    assert metricslib.start_http_server is serve.start_http_server
    assert metricslib.make_wsgi_app is serve.make_wsgi_app
    with pytest.raises(AttributeError, match="'nope'"):
        metricslib.nope  # noqa: B018


def test_importing_the_package_does_not_load_the_http_stack() -> None:
    code = "import sys, metricslib; print('metricslib.serve' in sys.modules, 'asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]
