"""The scrape hot path: known series are cheap, new ones are validated, bad bodies fail."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families as their_text

from metricslib.collector.textparse.formats import (
    ACCEPT_HEADER,
    FamilyMeta,
    ParseError,
    ScrapeParser,
    check,
    content_type_format,
    parse_scrape,
)
from metricslib.collector.textparse.syntax import Exemplar, LineError, parse_sample_line
from tests.helpers import free_port, http_get, require_tool, running

TEXT = """\
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",method="get"} 1027 1395066363000
http_requests_total{code="400",method="post"} 3
# TYPE latency histogram
latency_bucket{le="0.5"} 1
latency_bucket{le="+Inf"} 2
latency_sum 0.75
latency_count 2
# just a comment
plain{path="/a b"} +Inf
"""


def test_first_scrape_validates_and_returns_labels() -> None:
    res = parse_scrape(TEXT, "text", {})
    assert res.samples[0] == ('http_requests_total{code="200",method="get"}', 1027.0, 1395066363000)
    assert res.samples[-1] == ('plain{path="/a b"}', math.inf, None)
    assert len(res.samples) == 7 and len(res.new_series) == 7
    assert res.labels_for('latency_bucket{le="0.5"}') == (("__name__", "latency_bucket"), ("le", "0.5"))
    assert res.metadata["http_requests_total"] == FamilyMeta("counter", "Requests.", "")
    assert res.metadata["latency"] == FamilyMeta("histogram", "", "")
    assert res.metadata_for("latency_bucket") == ("latency", FamilyMeta("histogram", "", ""))
    assert res.metadata_for("plain") is None


def test_known_series_are_not_reparsed_and_keep_their_timestamps() -> None:
    parser = ScrapeParser()
    first = parser.parse(TEXT, "text", {})
    known = {key: object() for key in first.new_series}
    second = parser.parse(TEXT.replace("1027", "1030"), "text", known)
    assert second.new_series == {}
    assert second.samples[0] == ('http_requests_total{code="200",method="get"}', 1030.0, 1395066363000)
    assert [k for k, _, _ in second.samples] == [k for k, _, _ in first.samples]


def test_only_new_series_show_up_as_new() -> None:
    known = dict.fromkeys(['a{x="1"}'])
    res = parse_scrape('a{x="1"} 1\na{x="2"} 2\n', "text", known)
    assert list(res.new_series) == ['a{x="2"}']
    # labels_for still answers for a key the caller already knew.
    assert res.labels_for('a{x="1"}') == (("__name__", "a"), ("x", "1"))


@pytest.mark.parametrize(
    ("body", "fmt", "line", "message"),
    [
        ('a 1\nb{x="1} 2\n', "text", 2, "value of label 'x' has no closing quote"),
        ("a 1\nb 1_0\n", "text", 2, "invalid value '1_0'"),
        ("a 1\n", "openmetrics", 1, "does not end with '# EOF'"),
        ("a 1\r\n# EOF\r\n", "openmetrics", 2, "(lines must end with \\n, not \\r\\n)"),
        ("a 1\r\nb 2\r\n", "text", 1, "invalid value '1\\r': lines must end with \\n"),
        ("a 1\n\n# EOF\n", "openmetrics", 2, "blank line"),
        ("# EOF\na 1\n# EOF\n", "openmetrics", 1, "'# EOF' must be the last line"),
        ("# FOO bar\na 1\n# EOF\n", "openmetrics", 1, "must be '# HELP|TYPE|UNIT name text'"),
        ("# TYPE a histo\na 1\n", "text", 1, "unknown type 'histo'"),
        ("# TYPE a untyped\na 1\n# EOF\n", "openmetrics", 1, "unknown type 'untyped'"),
        ("a  1\n# EOF\n", "openmetrics", 1, "more than one space"),
    ],
)
def test_malformed_bodies_raise_with_the_line(body: str, fmt: str, line: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_scrape(body, fmt, {})  # type: ignore[arg-type]
    assert info.value.line == line
    assert message in str(info.value)


def test_bad_values_are_caught_even_for_known_series() -> None:
    known = dict.fromkeys(["a", "b"])
    for bad in ("a 1_0\n", "a \u0661\n", "a 1\x0c\n", "a 0x10\n"):
        with pytest.raises(ParseError, match="line 1: invalid value"):
            parse_scrape(bad, "text", known)
    # A timestamp after a known series goes through the same checks.
    assert parse_scrape("b 2 -5\n", "text", known).samples == [("b", 2.0, -5)]
    with pytest.raises(ParseError, match="invalid timestamp"):
        parse_scrape("b 2 5x\n", "text", known)


def test_text_leniency_matches_prometheus() -> None:
    body = '  a{x="1",} \t 2  \t 3000 \nb\t4\n'
    res = parse_scrape(body, "text", {})
    assert res.samples == [('a{x="1",}', 2.0, 3000), ("b", 4.0, None)]
    assert res.labels_for('a{x="1",}') == (("__name__", "a"), ("x", "1"))


def test_openmetrics_exemplars_and_timestamps() -> None:
    body = (
        "# TYPE a counter\n# UNIT a seconds\n"
        'a_total{x="1"} 5 1.5 # {trace_id="abc"} 1 2\n'
        "# EOF"
    )
    res = parse_scrape(body, "openmetrics", {})
    assert res.samples == [('a_total{x="1"}', 5.0, 1500)]
    assert res.exemplars == [('a_total{x="1"}', Exemplar({"trace_id": "abc"}, 1.0, 2.0))]
    assert res.metadata["a"] == FamilyMeta("counter", "", "seconds")
    assert res.metadata_for("a_total") == ("a", FamilyMeta("counter", "", "seconds"))


def test_metadata_cache_is_per_parser_and_bounded() -> None:
    parser = ScrapeParser()
    parser.parse("# HELP a one\na 1\n", "text", {})
    res = parser.parse("# HELP a two\na 1\n", "text", {})
    assert res.metadata["a"].help == "two"


def test_unicode_label_values_and_non_ascii_bodies() -> None:
    body = 'a{city="Zürich ☃"} 1.5e3\n'
    first = parse_scrape(body, "text", {})
    assert first.labels_for('a{city="Zürich ☃"}') == (("__name__", "a"), ("city", "Zürich ☃"))
    again = parse_scrape(body, "text", dict.fromkeys(first.new_series))
    assert again.samples == [('a{city="Zürich ☃"}', 1500.0, None)]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789.eE+-_xnaifty NAIFTY\u0661\x0c", min_size=1, max_size=10),
    st.sampled_from(["text", "openmetrics"]),
)
def test_known_and_new_series_accept_the_same_values(tok: str, fmt: str) -> None:
    """The cached path never accepts a value the full grammar rejects, or the reverse."""
    om = fmt == "openmetrics"
    body = f"a {tok}\n" + ("# EOF\n" if om else "")
    try:
        full = parse_sample_line(f"a {tok}", om).value
    except LineError:
        full = None
    for known in ({}, {"a": 1}):
        try:
            got: float | None = parse_scrape(body, fmt, known).samples[0][1]  # type: ignore[arg-type]
        except ParseError:
            got = None
        assert (got is None) == (full is None), (tok, known)
        if got is not None and full is not None:
            assert got == full or (math.isnan(got) and math.isnan(full))


def test_cached_line_whose_key_was_forgotten_is_new_again() -> None:
    parser = ScrapeParser()
    first = parser.parse('a{x="1"} 1\n', "text", {})
    parser.parse('a{x="1"} 1\n', "text", dict.fromkeys(first.new_series))
    # The scrape loop dropped the series from its cache: it must hear about it again.
    again = parser.parse('a{x="1"} 1\n', "text", {})
    assert list(again.new_series) == ['a{x="1"}']


def test_switching_format_does_not_reuse_lines_validated_for_the_other() -> None:
    parser = ScrapeParser()
    known = {"a": 1}
    assert parser.parse("a  1\n", "text", known).samples == [("a", 1.0, None)]
    with pytest.raises(ParseError, match="more than one space"):
        parser.parse("a  1\n# EOF\n", "openmetrics", known)


@pytest.mark.integration
def test_real_node_exporter_body() -> None:
    """A real exporter's body: valid, and parsed to the values prometheus_client reads."""
    binary = require_tool("prometheus-node-exporter", "prometheus-node-exporter")
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with running([binary, f"--web.listen-address=127.0.0.1:{port}"], ready_url=url):
        status, headers, raw = http_get(url, headers={"Accept": ACCEPT_HEADER})
    assert status == 200
    body = raw.decode()
    fmt = content_type_format(headers.get("Content-Type"))
    assert check(body, fmt) == []
    res = ScrapeParser().parse(body, fmt, {})
    theirs = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in their_text(body)
        for s in f.samples
    }
    ours = {}
    for key, value, _ in res.samples:
        labels = res.labels_for(key)
        name = dict(labels)["__name__"]
        ours[(name, tuple(kv for kv in labels if kv[0] != "__name__"))] = value
    # prometheus_client keeps empty label values; a label set drops them.
    theirs = {(n, tuple(kv for kv in ls if kv[1])): v for (n, ls), v in theirs.items()}
    assert len(ours) == len(theirs) > 100
    assert all(
        ours[k] == v or (math.isnan(ours[k]) and math.isnan(v)) for k, v in theirs.items()
    )
    assert res.metadata["node_cpu_seconds_total"].type == "counter"


def test_line_cache_stays_bounded_while_values_change() -> None:
    parser = ScrapeParser()
    known: dict[str, object] = {}
    n = 200
    for scrape in range(30):
        body = "".join(f'c_total{{i="{i}"}} {scrape * n + i}\n' for i in range(n)) + "const 1\n"
        res = parser.parse(body, "text", known)
        known.update(dict.fromkeys(res.new_series))
        assert res.samples[-1] == ("const", 1.0, None)
        assert res.samples[0] == ('c_total{i="0"}', float(scrape * n), None)
        # Never more than the last few scrapes' worth of lines is remembered.
        assert len(parser._lines) <= 3 * (n + 1) + 1024
