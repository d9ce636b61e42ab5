"""Exposition writers: exact output, escaping, negotiation, parser round trips."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

import metricslib
from metricslib import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    Counter,
    CounterMetricFamily,
    Enum,
    Gauge,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Histogram,
    Info,
    MetricFamily,
    Registry,
    Summary,
    choose_encoder,
    generate_latest,
    generate_openmetrics,
    render_openmetrics,
    render_text,
)
from metricslib.model import format_value


def full_registry(default_labels: dict[str, str] | None = None) -> Registry:
    """Every instrument type, with labels, escapes and odd values."""
    registry = Registry(default_labels=default_labels)
    c = Counter("http_requests", "Requests served.", ["method", "code"], registry=registry)
    c.labels("GET", "200").inc(3)
    c.labels('P"O\\ST\n', "500").inc()
    Counter("jobs", "Jobs\\done\nok", registry=registry).inc(1234567)
    g = Gauge("temperature_celsius", "Temperature.", ["room"], registry=registry)
    g.labels("hall").set(-1.5)
    g.labels("attic").set(float("inf"))
    Gauge("ratio", "Ratio.", registry=registry).set(float("nan"))
    h = Histogram("request_duration_seconds", "Latency.", ["route"], buckets=(0.1, 1, 1e7), registry=registry)
    h.labels("/a").observe(0.05)
    h.labels("/a").observe(3)
    Histogram("plain_seconds", "Plain.", registry=registry).observe(0.2)
    s = Summary("payload_bytes", "Payload.", ["kind"], quantiles=(0.5, 0.99), registry=registry)
    s.labels("json").observe(100)
    Summary("batch_size", "Batch.", registry=registry).observe(7)
    Info("build", "Build info.", registry=registry).info({"version": "1.0", "commit": "abc"})
    Enum("phase", "Phase.", ["worker"], states=["idle", "busy"], registry=registry).labels("w1").state("busy")
    return registry


def test_text_output_exact() -> None:
    registry = Registry()
    c = Counter("http_requests", "Requests.", ["method"], registry=registry)
    c.labels('a"b\\c\nd').inc()
    h = Histogram("lat_seconds", "Help with \\ and\nnewline", buckets=(1,), registry=registry)
    h.observe(0.5)
    assert generate_latest(registry).decode() == (
        "# HELP http_requests_total Requests.\n"
        "# TYPE http_requests_total counter\n"
        'http_requests_total{method="a\\"b\\\\c\\nd"} 1.0\n'
        "# HELP lat_seconds Help with \\\\ and\\nnewline\n"
        "# TYPE lat_seconds histogram\n"
        'lat_seconds_bucket{le="1.0"} 1.0\n'
        'lat_seconds_bucket{le="+Inf"} 1.0\n'
        "lat_seconds_count 1.0\n"
        "lat_seconds_sum 0.5\n"
    )


@pytest.mark.parametrize("created", [True, False])
@pytest.mark.parametrize("defaults", [None, {"hostname": "web-1"}, {"route": "ignored", "zone": 'a"b'}])
def test_fast_paths_equal_generic_writers(defaults: dict[str, str] | None, created: bool) -> None:
    registry = full_registry(defaults)
    registry.created_samples = created
    neg = Histogram("delta", "Delta.", ["k"], buckets=(-1, 1), registry=registry)
    neg.labels("a").observe(-3, exemplar={"trace_id": "x"})
    Counter("ex", "Ex.", registry=registry).inc(exemplar={"span": 'a"b'})
    assert generate_latest(registry) == render_text(registry.collect())
    assert generate_openmetrics(registry) == render_openmetrics(registry.collect())
    registry.set_default_labels({"later": "1"})  # cached prefixes must follow
    assert generate_latest(registry) == render_text(registry.collect())
    assert generate_openmetrics(registry) == render_openmetrics(registry.collect())
    assert b'later="1"' in generate_openmetrics(registry)


@pytest.mark.parametrize("fmt", ["text", "openmetrics"])
def test_output_is_byte_identical_to_prometheus_client_without_created(fmt: str) -> None:
    import prometheus_client
    from prometheus_client.openmetrics import exposition as pc_openmetrics

    outputs = []
    for mod in (metricslib, prometheus_client):
        registry = mod.Registry() if mod is metricslib else mod.CollectorRegistry()
        c = mod.Counter("req", 'Requests \\ and\nnewline "quoted"', ["m", "c"], registry=registry)
        c.labels('G"E\\T\n', "200").inc(2)
        c.labels("x", "500").inc(1234567)
        g = mod.Gauge("temp", "T", ["room"], registry=registry)
        g.labels("a").set(-1.5e-7)
        g.labels("b").set(float("nan"))
        h = mod.Histogram("lat_seconds", "L", ["z", "a"], buckets=(0.1, 1e7), registry=registry)
        h.labels("x", "y").observe(5)
        mod.Summary("size_bytes", "S", registry=registry).observe(3)
        mod.Info("build", "B", ["comp"], registry=registry).labels("db").info({"version": "1"})
        mod.Enum("phase", "P", states=["a", "b"], registry=registry).state("b")
        mod.Counter("io", "IO", unit="bytes", registry=registry).inc(123456789)
        if fmt == "text":
            outputs.append(mod.generate_latest(registry).decode())
        elif mod is metricslib:
            registry.created_samples = False
            outputs.append(metricslib.generate_openmetrics(registry).decode())
        else:
            outputs.append(pc_openmetrics.generate_latest(registry).decode())
    ours, theirs = outputs
    theirs_without_created = "".join(
        line for line in theirs.splitlines(keepends=True) if "_created" not in line
    )
    assert ours == theirs_without_created


def test_openmetrics_output() -> None:
    registry = Registry()
    c = Counter("requests", "Requests.", registry=registry)
    c.inc(2, exemplar={"trace_id": "abc"})
    Histogram("size", "Size.", unit="bytes", buckets=(10,), registry=registry).observe(5, {"trace_id": "t"})
    text = generate_openmetrics(registry).decode()
    lines = text.splitlines()
    assert lines[:3] == ["# HELP requests Requests.", "# TYPE requests counter", lines[2]]
    assert lines[2].startswith('requests_total 2.0 # {trace_id="abc"} 2.0 ')
    assert lines[3].startswith("requests_created ")
    assert "# UNIT size_bytes bytes" in lines
    assert any(line.startswith('size_bytes_bucket{le="10.0"} 1.0 # {trace_id="t"} 5.0') for line in lines)
    assert lines[-1] == "# EOF"
    families = list(om_parser.text_string_to_metric_families(text))
    assert [f.name for f in families] == ["requests", "size_bytes"]


def test_openmetrics_without_created() -> None:
    registry = Registry(created_samples=False)
    Counter("requests", "Requests.", registry=registry).inc()
    assert b"_created" not in generate_openmetrics(registry)


def test_text_never_has_created_or_exemplars() -> None:
    registry = Registry()
    Counter("requests", "Requests.", registry=registry).inc(exemplar={"trace_id": "abc"})
    text = generate_latest(registry)
    assert b"_created" not in text
    assert b"trace_id" not in text


def test_full_registry_parses_in_both_formats() -> None:
    registry = full_registry({"hostname": "web-1"})
    text_families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert text_families["http_requests"].samples[1].labels["method"] == 'P"O\\ST\n'
    assert text_families["jobs"].documentation == "Jobs\\done\nok"
    om_families = {
        f.name: f for f in om_parser.text_string_to_metric_families(generate_openmetrics(registry).decode())
    }
    assert om_families["phase"].type == "stateset"
    assert om_families["build"].type == "info"
    assert om_families["request_duration_seconds"].samples[2].labels["le"] == "1e+07"


def test_custom_families_with_timestamps_and_gauge_histograms() -> None:
    class Custom:
        def collect(self) -> Iterator[MetricFamily]:
            yield GaugeMetricFamily("temp", "T", labels=["room"])
            g = GaugeMetricFamily("level", "L", labels=["tank"])
            g.add_metric(["a"], 3, timestamp=1700000000.5)
            yield g
            yield GaugeHistogramMetricFamily("queue_wait", "W", buckets=[("1", 2), ("+Inf", 3)], gsum_value=4)
            yield CounterMetricFamily("events_total", "E", value=5, created=1700000000)

    registry = Registry()
    registry.register(Custom())
    text = generate_latest(registry).decode()
    assert 'level{tank="a"} 3.0 1700000000500\n' in text
    assert "# TYPE queue_wait histogram\n" in text
    assert "# TYPE queue_wait_gcount gauge\nqueue_wait_gcount 3.0\n" in text
    assert "events_created" not in text
    om = generate_openmetrics(registry).decode()
    assert 'level{tank="a"} 3.0 1700000000.5\n' in om
    assert "events_created 1.7e+09\n" in om
    list(om_parser.text_string_to_metric_families(om))


def test_render_functions_take_any_families() -> None:
    family = MetricFamily("workers", "Workers", "gauge")
    family.add_sample("workers", {"pid": "1"}, 2)
    assert render_text([family]) == b'# HELP workers Workers\n# TYPE workers gauge\nworkers{pid="1"} 2.0\n'
    assert render_openmetrics([family]).endswith(b'workers{pid="1"} 2.0\n# EOF\n')


def test_exemplar_on_a_gauge_is_dropped_not_fatal() -> None:
    family = MetricFamily("g", "G", "gauge")
    from metricslib import Exemplar

    family.add_sample("g", {}, 1, exemplar=Exemplar({"a": "b"}, 1))
    assert render_openmetrics([family]) == b"# HELP g G\n# TYPE g gauge\ng 1.0\n# EOF\n"


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/plain;version=0.0.4", False),
        ("application/openmetrics-text; version=1.0.0", True),
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            True,
        ),
        ("application/openmetrics-text;q=0", False),
        ("text/plain;q=1, application/openmetrics-text;q=0.2", False),
        ("application/openmetrics-text;q=bogus", False),
    ],
)
def test_choose_encoder(accept: str | None, openmetrics: bool) -> None:
    encoder, content_type = choose_encoder(accept)
    if openmetrics:
        assert (encoder, content_type) == (generate_openmetrics, CONTENT_TYPE_OPENMETRICS)
    else:
        assert (encoder, content_type) == (generate_latest, CONTENT_TYPE_LATEST)


# -- property tests -----------------------------------------------------------------------

_RESERVED_SUFFIXES = ("_total", "_created", "_count", "_sum", "_bucket", "_gcount", "_gsum", "_info")
metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,15}", fullmatch=True).filter(
    lambda n: not n.endswith(_RESERVED_SUFFIXES)
)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: not n.startswith("__")
)
label_values = st.text(
    alphabet=st.one_of(st.sampled_from('\\"\n{}=, '), st.characters(codec="utf-8")), max_size=12
)
# prometheus_client's parsers trim spaces around HELP text (theirs, not our output): compare trimmed.
documentation = st.text(
    alphabet=st.one_of(st.sampled_from('\\"\n'), st.characters(codec="utf-8", exclude_characters="\r")),
    max_size=20,
).map(str.strip)
gauge_values = st.floats(allow_nan=True, allow_infinity=True)
counter_values = st.floats(min_value=0, allow_nan=False, allow_infinity=True)


def same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_format_value_matches_prometheus_client(value: float) -> None:
    assert format_value(value) == floatToGoString(value)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=metric_names,
    doc=documentation,
    labels=st.dictionaries(label_names, label_values, max_size=3),
    gauge_value=gauge_values,
    counter_value=counter_values,
)
def test_round_trip_through_prometheus_client_parsers(
    name: str, doc: str, labels: dict[str, str], gauge_value: float, counter_value: float
) -> None:
    registry = Registry()
    names = list(labels)
    gauge = Gauge(name, doc, names, registry=registry)
    counter = Counter(name + "_c", doc, names, registry=registry)
    if names:
        gauge.labels(**labels).set(gauge_value)
        counter.labels(**labels).inc(counter_value)
    else:
        gauge.set(gauge_value)
        counter.inc(counter_value)
    expected = [(name, labels, gauge_value), (name + "_c_total", labels, counter_value)]

    for text, parse in (
        (generate_latest(registry).decode(), text_string_to_metric_families),
        (generate_openmetrics(registry).decode(), om_parser.text_string_to_metric_families),
    ):
        families = list(parse(text))
        assert [f.documentation for f in families] == [doc, doc]
        got = [(s.name, s.labels, s.value) for f in families for s in f.samples if not s.name.endswith("_created")]
        assert len(got) == len(expected)
        for (gn, gl, gv), (en, el, ev) in zip(got, expected, strict=True):
            assert (gn, gl) == (en, el)
            assert same_value(gv, ev)


@settings(max_examples=60)
@given(observations=st.lists(st.floats(min_value=-1e9, max_value=1e9), max_size=20))
def test_histogram_round_trip_in_openmetrics(observations: list[float]) -> None:
    registry = Registry()
    h = Histogram("lat_seconds", "Latency", buckets=(-1, 0, 0.5, 1e6), registry=registry)
    for v in observations:
        h.observe(v)
    (family,) = list(om_parser.text_string_to_metric_families(generate_openmetrics(registry).decode()))
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name == "lat_seconds_bucket"}
    assert buckets["+Inf"] == len(observations)
    assert buckets["0.5"] == sum(1 for v in observations if v <= 0.5)


def test_negative_histogram_sum_kept_in_text_dropped_in_openmetrics() -> None:
    registry = Registry()
    h = Histogram("delta", "Delta", ["k"], buckets=(-1, 1), registry=registry)
    h.labels("neg").observe(-5)
    Histogram("pos", "Pos", buckets=(1,), registry=registry).observe(0.5)
    assert b'delta_sum{k="neg"} -5.0' in generate_latest(registry)
    om = generate_openmetrics(registry)
    assert b"delta_sum" not in om and b"delta_count" not in om
    assert b"pos_sum 0.5" in om and b"pos_count 1.0" in om
    list(om_parser.text_string_to_metric_families(om.decode()))


def test_bad_sample_from_a_raw_family_is_named() -> None:
    family = MetricFamily("jobs", "Jobs", "gauge")
    family.add_sample("jobs", {"queue": "a"}, "many")  # type: ignore[arg-type]
    for render in (render_text, render_openmetrics):
        with pytest.raises(ValueError, match=r"jobs\{queue=\"a\"\} has value 'many'"):
            render([family])


def test_numeric_label_values_from_raw_families_are_rendered() -> None:
    family = MetricFamily("jobs", "Jobs", "gauge")
    family.add_sample("jobs", {"shard": 3}, 1)  # type: ignore[dict-item]
    assert b'jobs{shard="3"} 1.0' in render_text([family])


@pytest.mark.parametrize("fmt", ["text", "openmetrics"])
def test_parsers_read_back_every_sample_of_every_type(fmt: str) -> None:
    registry = full_registry({"hostname": "web-1"})
    Counter("traced", "Traced.", registry=registry).inc(2, exemplar={"trace_id": "abc"})
    if fmt == "text":
        parsed = text_string_to_metric_families(generate_latest(registry).decode())
    else:
        parsed = om_parser.text_string_to_metric_families(generate_openmetrics(registry).decode())
    got = [(s.name, s.labels, s.value, s.exemplar) for f in parsed for s in f.samples]
    want = [
        (s.name, s.labels, s.value, s.exemplar)
        for f in registry.collect()
        for s in f.samples
        if fmt == "openmetrics" or not s.name.endswith("_created")
    ]
    assert len(got) == len(want)
    for (gn, gl, gv, gex), (wn, wl, wv, wex) in zip(got, want, strict=True):
        assert (gn, gl) == (wn, wl)
        assert same_value(gv, wv) or (wn.endswith("_created") and abs(gv - wv) < 1e-3)
        if fmt == "openmetrics" and wex is not None:
            assert gex is not None
            assert (gex.labels, gex.value) == (wex.labels, wex.value)


def test_repeated_scrapes_show_new_values() -> None:
    registry = Registry()
    c = Counter("jobs", "Jobs", ["q"], registry=registry)
    c.labels("a").inc()
    assert b'jobs_total{q="a"} 1.0' in generate_latest(registry)
    assert b'jobs_total{q="a"} 1.0' in generate_latest(registry)  # unchanged: reused line
    c.labels("a").inc(1e7)
    assert b'jobs_total{q="a"} 1.0000001e+07' in generate_latest(registry)
    c.labels("a").reset()
    assert b'jobs_total{q="a"} 0.0' in generate_latest(registry)
    c.labels("a").inc(float("inf"))
    assert b'jobs_total{q="a"} +Inf' in generate_latest(registry)


def test_render_functions_take_plain_data_families() -> None:
    # e.g. families merged across worker processes: any object with the same attributes.
    @dataclass
    class PlainSample:
        name: str
        labels: dict[str, str]
        value: float
        timestamp: float | None = None
        exemplar: None = None

    @dataclass
    class PlainFamily:
        name: str
        documentation: str
        type: str
        unit: str = ""
        samples: list[PlainSample] = field(default_factory=list)

    family = PlainFamily("jobs", "Jobs", "counter", samples=[PlainSample("jobs_total", {"pid": "7"}, 3.0)])
    assert render_text([family]) == b'# HELP jobs_total Jobs\n# TYPE jobs_total counter\njobs_total{pid="7"} 3.0\n'
    assert render_openmetrics([family]) == b'# HELP jobs Jobs\n# TYPE jobs counter\njobs_total{pid="7"} 3.0\n# EOF\n'
