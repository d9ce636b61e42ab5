"""Custom-collector helpers: prometheus_client-compatible shapes and clear errors."""

from __future__ import annotations

import pytest
from prometheus_client import core as pc_core

from metricslib import (
    CounterMetricFamily,
    Exemplar,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Registry,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    generate_latest,
    render_openmetrics,
    render_text,
)
from metricslib.errors import InvalidLabelsError, InvalidMetricError, InvalidValueError


def same_samples(ours: object, theirs: object) -> None:
    assert ours.name == theirs.name  # type: ignore[attr-defined]
    assert ours.type == theirs.type  # type: ignore[attr-defined]
    got = [(s.name, s.labels, s.value, s.timestamp) for s in ours.samples]  # type: ignore[attr-defined]
    want = [(s.name, s.labels, s.value, s.timestamp) for s in theirs.samples]  # type: ignore[attr-defined]
    assert got == want


def test_counter_family_like_prometheus_client() -> None:
    ours = CounterMetricFamily("jobs_total", "Jobs", labels=["queue"])
    theirs = pc_core.CounterMetricFamily("jobs_total", "Jobs", labels=["queue"])
    for family in (ours, theirs):
        family.add_metric(["a"], 3, created=1700000000.0)
        family.add_metric(["b"], 4, timestamp=12.5)
    same_samples(ours, theirs)
    assert CounterMetricFamily("x", "X", value=1).samples[0].name == "x_total"


def test_gauge_summary_unknown_info_stateset_like_prometheus_client() -> None:
    pairs = [
        (GaugeMetricFamily("temp", "T", value=3.5), pc_core.GaugeMetricFamily("temp", "T", value=3.5)),
        (SummaryMetricFamily("rpc", "R", count_value=2, sum_value=0.5), pc_core.SummaryMetricFamily("rpc", "R", count_value=2, sum_value=0.5)),
        (UnknownMetricFamily("u", "U", value=1), pc_core.UnknownMetricFamily("u", "U", value=1)),
        (InfoMetricFamily("build", "B", value={"v": "1"}), pc_core.InfoMetricFamily("build", "B", value={"v": "1"})),
        (StateSetMetricFamily("s", "S", value={"a": True, "b": False}), pc_core.StateSetMetricFamily("s", "S", value={"a": True, "b": False})),
    ]
    for ours, theirs in pairs:
        same_samples(ours, theirs)


def test_histogram_family() -> None:
    ex = Exemplar({"trace_id": "t"}, 0.3)
    h = HistogramMetricFamily("lat", "L", labels=["route"])
    h.add_metric(["/a"], [("0.5", 1, ex), ("1", 3), ("+Inf", 4)], sum_value=2.5)
    assert [(s.name, s.labels.get("le"), s.value) for s in h.samples] == [
        ("lat_bucket", "0.5", 1.0),
        ("lat_bucket", "1.0", 3.0),
        ("lat_bucket", "+Inf", 4.0),
        ("lat_count", None, 4.0),
        ("lat_sum", None, 2.5),
    ]
    assert h.samples[0].exemplar == ex
    assert b'lat_bucket{le="0.5",route="/a"} 1.0 # {trace_id="t"} 0.3' in render_openmetrics([h])
    gh = GaugeHistogramMetricFamily("queue_wait", "W", buckets=[("+Inf", 3)], gsum_value=4)
    assert [s.name for s in gh.samples] == ["queue_wait_bucket", "queue_wait_gcount", "queue_wait_gsum"]
    assert b"# TYPE queue_wait_gsum gauge\nqueue_wait_gsum 4.0\n" in render_text([gh])


@pytest.mark.parametrize(
    ("build", "error", "needle"),
    [
        (lambda: GaugeMetricFamily("g", "G", value="lots"), InvalidValueError, "'lots'"),
        (lambda: CounterMetricFamily("c", "C", value=-1), InvalidValueError, "negative"),
        (lambda: GaugeMetricFamily("g", "G", value=1, labels=["a"]), InvalidMetricError, "not both"),
        (lambda: GaugeMetricFamily("g", "G", labels=["a"]).add_metric(["x", "y"], 1), InvalidLabelsError, "expects 1"),
        (lambda: GaugeMetricFamily("g", "G", labels=["a"]).add_metric("x", 1), InvalidLabelsError, "expects 1"),
        (lambda: HistogramMetricFamily("h", "H", buckets=[("1", 1)], sum_value=1), InvalidMetricError, r"\+Inf"),
        (lambda: HistogramMetricFamily("h", "H", buckets=[("2", 1), ("1", 1), ("+Inf", 1)], sum_value=1), InvalidMetricError, "not increasing"),
        (lambda: HistogramMetricFamily("h", "H", labels=["le"]), InvalidLabelsError, "'le'"),
        (lambda: SummaryMetricFamily("s", "S", count_value=1), InvalidMetricError, "both"),
        (lambda: StateSetMetricFamily("s", "S", labels=["s"]), InvalidLabelsError, "'s'"),
    ],
)
def test_bad_input_names_the_problem(build: object, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        build()  # type: ignore[operator]


def test_a_ported_custom_collector_runs_unchanged() -> None:
    class QueueCollector:
        def collect(self):  # type: ignore[no-untyped-def]
            depth = GaugeMetricFamily("queue_depth", "Jobs waiting.", labels=["queue"])
            depth.add_metric(["emails"], 7)
            yield depth
            yield CounterMetricFamily("queue_processed_total", "Jobs processed.", value=1234)

    registry = Registry()
    registry.register(QueueCollector())
    assert generate_latest(registry) == (
        b"# HELP queue_depth Jobs waiting.\n# TYPE queue_depth gauge\n"
        b'queue_depth{queue="emails"} 7.0\n'
        b"# HELP queue_processed_total Jobs processed.\n# TYPE queue_processed_total counter\n"
        b"queue_processed_total 1234.0\n"
    )
