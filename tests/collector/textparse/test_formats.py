"""The parser's public entry: property tests against prometheus_client, negotiation.

Generated families (names, unicode label values with escapes, floats including
infinities, NaN and large exponents, timestamps) are rendered by a small
test-side renderer or by prometheus_client's own exposition; our full parser
and the scrape hot path must give back exactly what was rendered, and
prometheus_client's parsers must accept what ours accepts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest as generate_om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as their_om
from prometheus_client.parser import text_string_to_metric_families as their_text
from prometheus_client.samples import Exemplar as TheirExemplar

import metricslib
from metricslib.collector.model import STALE_NAN, is_stale_nan
from metricslib.collector.textparse.formats import (
    ACCEPT_HEADER,
    ParseError,
    ScrapeParser,
    check,
    content_type_format,
    detect_format,
    parse_families,
    parse_series_key,
)

# --- generators and a reference renderer --------------------------------------------

names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True)
label_values = st.text(
    alphabet=st.one_of(
        st.sampled_from('\\"\n #{}=,'), st.characters(blacklist_categories=("Cs",))
    ),
    max_size=12,
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**18), max_value=10**18).map(float),
    st.sampled_from([0.0, -0.0, 1e308, -1e-308, 5e-324, 1.7976931348623157e308]),
)
label_sets = st.dictionaries(label_names, label_values, max_size=4)
timestamps = st.one_of(st.none(), st.integers(min_value=0, max_value=10**13))


def esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def fmt_float(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def render_series(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}"


Row = tuple[str, dict[str, str], float, "int | None"]


def render(rows: Iterable[Row], om: bool) -> str:
    out = []
    for name, labels, value, ts in rows:
        line = f"{render_series(name, labels)} {fmt_float(value)}"
        if ts is not None:
            line += f" {ts // 1000}.{ts % 1000:03d}" if om else f" {ts}"
        out.append(line + "\n")
    return "".join(out) + ("# EOF\n" if om else "")


@st.composite
def bodies(draw: st.DrawFn) -> list[Row]:
    """Distinct untyped families, each with distinct label sets."""
    fams = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    rows: list[Row] = []
    for name in fams:
        sets = draw(st.lists(label_sets, min_size=1, max_size=4, unique_by=lambda d: tuple(sorted(d.items()))))
        for labels in sets:
            rows.append((name, labels, draw(floats), draw(timestamps)))
    return rows


def same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def flat(text: str, fmt: str) -> list[Row]:
    return [
        (s.name, s.labels, s.value, s.timestamp_ms)
        for f in parse_families(text, fmt)  # type: ignore[arg-type]
        for s in f.samples
    ]


def assert_rows(got: list[Row], want: list[Row]) -> None:
    assert len(got) == len(want)
    for (gn, gl, gv, gt), (wn, wl, wv, wt) in zip(got, want, strict=True):
        assert (gn, gl, gt) == (wn, wl, wt)
        assert same_value(gv, wv), (gv, wv)


# --- properties ---------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), st.sampled_from(["text", "openmetrics"]))
def test_full_parse_returns_what_was_rendered(rows: list[Row], fmt: str) -> None:
    text = render(rows, fmt == "openmetrics")
    assert check(text, fmt) == []  # type: ignore[arg-type]
    assert_rows(flat(text, fmt), rows)


@settings(max_examples=150, deadline=None)
@given(bodies(), st.sampled_from(["text", "openmetrics"]))
def test_hot_path_agrees_with_full_parse(rows: list[Row], fmt: str) -> None:
    text = render(rows, fmt == "openmetrics")
    parser = ScrapeParser()
    first = parser.parse(text, fmt, {})  # type: ignore[arg-type]
    families = [s for f in parse_families(text, fmt) for s in f.samples]  # type: ignore[arg-type]
    assert len(first.samples) == len(families)
    for (key, value, ts), sample in zip(first.samples, families, strict=True):
        assert first.labels_for(key) == sample.series() == parse_series_key(key)
        assert same_value(value, sample.value) and ts == sample.timestamp_ms
    # The second scrape of a known target takes the cached path: same answer.
    known = dict.fromkeys(first.new_series)
    again = parser.parse(text, fmt, known)  # type: ignore[arg-type]
    assert again.new_series == {}
    assert [(k, t) for k, _, t in again.samples] == [(k, t) for k, _, t in first.samples]
    assert all(same_value(a[1], b[1]) for a, b in zip(again.samples, first.samples, strict=True))


@settings(max_examples=100, deadline=None)
@given(bodies())
def test_prometheus_client_accepts_what_we_accept_text(rows: list[Row]) -> None:
    text = render(rows, om=False)
    ours = flat(text, "text")
    theirs = [
        (s.name, s.labels, float(s.value), None if s.timestamp is None else round(s.timestamp * 1000))
        for f in their_text(text)
        for s in f.samples
    ]
    assert_rows(ours, theirs)


@settings(max_examples=100, deadline=None)
@given(bodies())
def test_prometheus_client_accepts_what_we_accept_openmetrics(rows: list[Row]) -> None:
    text = render(rows, om=True)
    ours = flat(text, "openmetrics")
    theirs = [
        (
            s.name,
            s.labels,
            float(s.value),
            None if s.timestamp is None else s.timestamp.sec * 1000 + s.timestamp.nsec // 10**6,
        )
        for f in their_om(text)
        for s in f.samples
    ]
    assert_rows(ours, theirs)


class _Fixed:
    def __init__(self, families: list[object]) -> None:
        self.families = families

    def collect(self) -> list[object]:
        return self.families


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(label_values, st.floats(min_value=0, allow_infinity=True), floats),
        min_size=1,
        max_size=5,
        unique_by=lambda row: row[0],
    )
)
def test_prometheus_client_exposition_round_trips(rows: list[tuple[str, float, float]]) -> None:
    values = [v for v, _, _ in rows]
    counts = [c for _, c, _ in rows]
    gauges = [g for _, _, g in rows]
    counter = CounterMetricFamily("req", "Requests.", labels=["path"])
    gauge = GaugeMetricFamily("temp_celsius", 'Temperature "now".\nSecond line.', labels=["path"])
    for v, c, g in rows:
        counter.add_metric([v], c)
        gauge.add_metric([v], g)
    reg = CollectorRegistry()
    reg.register(_Fixed([counter, gauge]))  # type: ignore[arg-type]
    for fmt, body in (("text", generate_latest(reg).decode()), ("openmetrics", generate_om(reg).decode())):
        fams = {f.name: f for f in parse_families(body, fmt)}  # type: ignore[arg-type]
        total = "req_total" if fmt == "text" else "req"
        assert fams[total].type == "counter"
        assert fams["temp_celsius"].help == 'Temperature "now".\nSecond line.'
        got = {s.labels["path"]: s.value for s in fams[total].samples if s.name == "req_total"}
        assert got == dict(zip(values, counts, strict=True))
        got_g = [s.value for s in fams["temp_celsius"].samples]
        assert all(same_value(a, b) for a, b in zip(got_g, gauges, strict=True))


# --- negotiation and format detection -----------------------------------------------


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", "openmetrics"),
        ("Application/OpenMetrics-Text;version=0.0.1", "openmetrics"),
        ("text/plain; version=0.0.4; charset=utf-8", "text"),
        ("", "text"),
        (None, "text"),
        ("application/json", "text"),
    ],
)
def test_content_type_format(header: str | None, fmt: str) -> None:
    assert content_type_format(header) == fmt


def test_accept_header_prefers_openmetrics() -> None:
    parts = ACCEPT_HEADER.split(",")
    assert parts[0] == "application/openmetrics-text;version=1.0.0"
    assert "text/plain;version=0.0.4;q=0.5" in parts


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("a 1\n# EOF\n", "openmetrics"),
        ("a 1\n# EOF", "openmetrics"),
        ("a 1\n", "text"),
        ("# TYPE a gauge\na 1\n", "text"),
        ("# TYPE a stateset\na{a=\"x\"} 1\n", "openmetrics"),
        ("# UNIT a_bytes bytes\n", "openmetrics"),
        ("# HELP a mentions # UNIT in passing\na 1\n", "text"),
    ],
)
def test_detect_format(text: str, fmt: str) -> None:
    assert detect_format(text) == fmt


def test_stale_nan_bits_survive_parsing_as_plain_nan() -> None:
    # Exposed NaN is an ordinary NaN, never Prometheus's staleness marker.
    (fam,) = parse_families("a NaN\n", "text")
    assert math.isnan(fam.samples[0].value) and not is_stale_nan(fam.samples[0].value)
    assert is_stale_nan(STALE_NAN)


# --- robustness: any input gives an answer or a ParseError, never a crash ------------

_PIECES = [
    "# TYPE ", "# HELP ", "# UNIT ", "# EOF", "a", "a_total", "a_bucket", "a_count", "a_sum",
    "a_created", "a_info", "a_gsum", "{", "}", "le=", "quantile=", "a=", '"', "+Inf", "1", "0.5",
    "-1", "NaN", " ", "\n", "#", "\\", ",", "\t", "counter", "histogram", "gaugehistogram",
    "summary", "info", "stateset", "unknown", "untyped", "gauge", "seconds", "ü",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_any_input_is_parsed_or_rejected_cleanly(text: str) -> None:
    for fmt in ("text", "openmetrics"):
        problems = check(text, fmt)  # type: ignore[arg-type]
        assert all(isinstance(p, ParseError) and p.line >= 1 for p in problems)
        errors: list[ParseError] = []
        families = list(parse_families(text, fmt, errors))  # type: ignore[arg-type]
        # check() is promtool-strict for text, so it may find more than a parse does.
        if fmt == "openmetrics":
            assert len(errors) == len(problems)
        else:
            assert {(e.line, str(e)) for e in errors} <= {(p.line, str(p)) for p in problems}
        if not problems:
            n = sum(len(f.samples) for f in families)
            # Valid input: the hot path agrees on how many samples there are.
            assert len(ScrapeParser().parse(text, fmt, {}).samples) == n  # type: ignore[arg-type]
        else:
            try:
                ScrapeParser().parse(text, fmt, {})  # type: ignore[arg-type]
            except ParseError as exc:
                assert exc.line >= 1


@st.composite
def histograms(draw: st.DrawFn) -> tuple[list[tuple[str, float]], float]:
    bounds = sorted(draw(st.sets(st.floats(-1e6, 1e6, allow_nan=False), max_size=6)))
    counts = sorted(draw(st.lists(st.integers(0, 10**6), min_size=len(bounds) + 1, max_size=len(bounds) + 1)))
    buckets = [(repr(b), float(c)) for b, c in zip(bounds, counts, strict=False)]
    buckets.append(("+Inf", float(counts[-1])))
    # OpenMetrics: no _sum when a bucket is negative, else a non-negative _sum.
    total = draw(st.floats(0, 1e9)) if not bounds or bounds[0] >= 0 else math.nan
    return buckets, total


@settings(max_examples=100, deadline=None)
@given(histograms(), st.booleans())
def test_prometheus_client_histograms_pass_every_rule(
    hist: tuple[list[tuple[str, float]], float], with_exemplar: bool
) -> None:
    """What a real OpenMetrics writer emits must pass our strict checks unchanged."""
    buckets, total = hist
    fam = HistogramMetricFamily("lat_seconds", "Latency.", labels=["route"], unit="seconds")
    rows: list[tuple[str, float] | tuple[str, float, TheirExemplar]] = list(buckets)
    if with_exemplar:
        le, count = buckets[-1]
        rows[-1] = (le, count, TheirExemplar({"trace_id": "abc"}, 0.5, 1700000000.25))
    fam.add_metric(["/a"], buckets=rows, sum_value=None if math.isnan(total) else total)
    gsum = -1.5 if math.isnan(total) else total  # negative is fine with negative buckets
    gauge = GaugeHistogramMetricFamily("queue", "Queue.", buckets=buckets, gsum_value=gsum)
    reg = CollectorRegistry()
    reg.register(_Fixed([fam, gauge]))  # type: ignore[arg-type]
    body = generate_om(reg).decode()
    assert check(body, "openmetrics") == [], body
    ours = {(s.name, tuple(sorted(s.labels.items()))): s for f in parse_families(body, "openmetrics") for s in f.samples}
    theirs = [s for f in their_om(body) for s in f.samples]
    assert len(ours) == len(theirs)
    for s in theirs:
        mine = ours[(s.name, tuple(sorted(s.labels.items())))]
        assert same_value(mine.value, s.value)
        assert (mine.exemplar is None) == (s.exemplar is None)
        if s.exemplar is not None and mine.exemplar is not None:
            assert mine.exemplar.labels == s.exemplar.labels and mine.exemplar.value == s.exemplar.value


@settings(max_examples=50, deadline=None)
@given(st.lists(label_values, min_size=1, max_size=4, unique=True), st.floats(0, 1e12))
def test_our_sdk_exposition_passes_check_and_round_trips(paths: list[str], amount: float) -> None:
    """The SDK's writers and this parser agree, in both formats."""
    reg = metricslib.CollectorRegistry()
    requests = metricslib.Counter("req", "Requests.", ["path"], registry=reg)
    latency = metricslib.Histogram("lat_seconds", "Latency.", ["path"], registry=reg)
    for path in paths:
        requests.labels(path).inc(amount)
        latency.labels(path).observe(amount)
    for fmt, body in (
        ("text", metricslib.generate_latest(reg).decode()),
        ("openmetrics", metricslib.generate_openmetrics(reg).decode()),
    ):
        assert check(body, fmt) == [], body  # type: ignore[arg-type]
        values = {
            s.labels["path"]: s.value
            for f in parse_families(body, fmt)  # type: ignore[arg-type]
            for s in f.samples
            if s.name == "req_total"
        }
        assert values == dict.fromkeys(paths, amount)
