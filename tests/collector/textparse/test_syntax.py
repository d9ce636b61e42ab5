"""One line at a time: names, labels, escapes, numbers, timestamps, exemplars."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.textparse.syntax import (
    OM_NUMBER_RE,
    TEXT_NUMBER_RE,
    Exemplar,
    LineError,
    Sample,
    parse_float,
    parse_sample_line,
    parse_series_key,
    unescape_help,
)
from metricslib.errors import ParseError


def test_labels_and_escapes() -> None:
    line = r'a_total{path="/x\"y\\z\n",q="},# ",u="\z"} 2.5'
    s = parse_sample_line(line, om=True)
    assert s.name == "a_total"
    assert s.labels == {"path": '/x"y\\z\n', "q": "},# ", "u": "\\z"}
    assert s.key == line[: line.rindex(" ")]
    assert s.value == 2.5 and s.timestamp_ms is None and s.exemplar is None


def test_text_format_is_lenient_about_whitespace() -> None:
    s = parse_sample_line('a { x = "1" , y="2", } \t 3 \t 1500  ', om=False)
    assert (s.name, s.labels, s.value, s.timestamp_ms) == ("a", {"x": "1", "y": "2"}, 3.0, 1500)
    assert s.key == 'a { x = "1" , y="2", }'
    # As promtool: no blank is needed between the closing brace and the value.
    s = parse_sample_line('a{x="1"}2', om=False)
    assert (s.key, s.value) == ('a{x="1"}', 2.0)


def test_openmetrics_timestamps_are_exact_milliseconds() -> None:
    assert parse_sample_line("a 1 1.005", om=True).timestamp_ms == 1005
    assert parse_sample_line("a 1 1500", om=True).timestamp_ms == 1_500_000
    assert parse_sample_line("a 1 1.5e3", om=True).timestamp_ms == 1_500_000
    assert parse_sample_line("a 1 -1.25", om=True).timestamp_ms == -1250


def test_exemplar() -> None:
    s = parse_sample_line('a_bucket{le="1"} 3 # {trace_id="abc"} 0.5 12.25', om=True)
    assert s.exemplar == Exemplar({"trace_id": "abc"}, 0.5, 12.25)
    s = parse_sample_line('a_total 3 7 # {} 1', om=True)
    assert s.exemplar == Exemplar({}, 1.0, None) and s.timestamp_ms == 7000


@pytest.mark.parametrize(
    ("tok", "om", "value"),
    [
        ("1", True, 1.0),
        ("-0.5e-3", True, -0.0005),
        (".5", True, 0.5),
        ("5.", True, 5.0),
        ("+Inf", True, math.inf),
        ("-Inf", True, -math.inf),
        ("NaN", True, math.nan),
        ("inf", False, math.inf),
        ("-Infinity", False, -math.inf),
        ("nan", False, math.nan),
        ("9223372036854775808", True, 9223372036854775808.0),
    ],
)
def test_parse_float_accepts(tok: str, om: bool, value: float) -> None:
    got = parse_float(tok, om)
    assert (math.isnan(got) and math.isnan(value)) or got == value


@pytest.mark.parametrize(
    "tok", ["", "1_0", "0x1p-3", " 1", "1 ", "\t1", "\u0661", "inf", "INF", "Infinity", "-nan", "1e", "e5"]
)
def test_parse_float_rejects_openmetrics(tok: str) -> None:
    with pytest.raises(LineError):
        parse_float(tok, om=True)


@pytest.mark.parametrize(
    ("line", "om", "message"),
    [
        ("0a 1", True, "expected a metric name at the start of the line, got '0a 1'"),
        ("a", True, "sample 'a' has no value"),
        ("a", False, "sample 'a' has no value"),
        ("a ", False, "sample 'a' has no value"),
        ('a{x="1"}', False, "sample 'a{x=\"1\"}' has no value"),
        ('a{x="1"}1', True, "expected a space and a value after 'a{x=\"1\"}', got '1'"),
        ('a{x="1",x="2"} 1', True, "label 'x' appears twice"),
        ('a{x="1" ,x="2"} 1', False, "label 'x' appears twice"),
        ('a{x="1} 1', True, "value of label 'x' has no closing quote"),
        ("a{x=1} 1", True, "value of label 'x' must be in double quotes"),
        ("a{x} 1", True, "label 'x' needs '=' and a quoted value"),
        ('a{x="1",} 1', True, "trailing comma before '}'"),
        ('a{x="1",,y="2"} 1', True, "empty label between commas"),
        ('a{1x="1"} 1', True, "expected a label name, got '1x=\"1\"} 1'"),
        ("a 1 2 3", True, "unexpected text '3' after the timestamp"),
        ("a 1 2 3", False, "unexpected text '3' after the timestamp"),
        ("a 1.5 1.5", False, "invalid timestamp '1.5': expected integer milliseconds"),
        ("a 1 NaN", True, "invalid timestamp 'NaN'"),
        ("a 1 #", True, "an exemplar must be written as ' # {labels} value [timestamp]'"),
        ("a 1 # x", True, "exemplar must start with '{' after ' # '"),
        ("a 1 # {}", True, "exemplar labels must be followed by a space and a value"),
        ('a 1 # {x="' + "y" * 128 + '"} 1', True, "exemplar labels are 129 characters long"),
        ("a 1\r", False, "invalid value '1\\r': lines must end with \\n, not \\r\\n"),
        ("a 1 5\r", False, "invalid timestamp '5\\r': lines must end with \\n, not \\r\\n"),
    ],
)
def test_line_errors(line: str, om: bool, message: str) -> None:
    with pytest.raises(LineError) as info:
        parse_sample_line(line, om)
    assert message in str(info.value)


def test_help_unescaping_differs_by_format() -> None:
    assert unescape_help(r"a\\b\nc\"d\q", om=True) == 'a\\b\nc"d\\q'
    assert unescape_help(r"a\\b\nc\"d", om=False) == 'a\\b\nc\\"d'


def test_parse_series_key() -> None:
    assert parse_series_key('up{job="a",instance=""}') == (("__name__", "up"), ("job", "a"))
    assert parse_series_key("up") == (("__name__", "up"),)
    with pytest.raises(ParseError, match=r"unexpected text ' 1' after the labels"):
        parse_series_key('up{job="a"} 1')
    with pytest.raises(ParseError, match="has no closing quote"):
        parse_series_key('up{job="a}')


def test_sample_series_drops_empty_values() -> None:
    s = Sample("a", {"z": "1", "b": ""}, 1.0)
    assert s.series() == (("__name__", "a"), ("z", "1"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_lines_never_crash(line: str) -> None:
    # Whatever the input, the answer is a parsed line or a LineError, never a crash.
    line = line.replace("\n", "")
    for om in (True, False):
        try:
            parse_sample_line(line, om)
        except LineError:
            pass


def test_timestamps_stay_within_int64() -> None:
    # OpenMetrics allows any number of seconds (the conformance suite has 1.2e19 s);
    # a store keeps int64 milliseconds, so they are clamped, never a giant int.
    assert parse_sample_line("a 1 1e999999999", om=True).timestamp_ms == 2**63 - 1
    assert parse_sample_line("a 1 -12345678901234567890.5", om=True).timestamp_ms == -(2**63)
    assert parse_sample_line("a 1 9223372036854775807", om=False).timestamp_ms == 2**63 - 1
    # Text timestamps are int64 milliseconds, as in Prometheus: larger is an error.
    for tok in ("9223372036854775808", "9" * 5000):
        with pytest.raises(LineError, match="does not fit in 64 bits"):
            parse_sample_line(f"a 1 {tok}", om=False)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**16),
    st.sampled_from(["", "0", "00", "000", "0000", "5", "123", "1234", "999999"]),
    st.sampled_from(["", "e0", "e3", "e-3", "E+2"]),
)
def test_openmetrics_timestamp_is_exact_decimal_truncated(whole: int, frac: str, exp: str) -> None:
    tok = f"{whole}.{frac}{exp}" if frac else f"{whole}{exp}"
    expected = int(Decimal(tok) * 1000)  # exact, truncated toward zero
    expected = min(expected, 2**63 - 1)
    assert parse_sample_line(f"a 1 {tok}", om=True).timestamp_ms == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789.eE+-_ xinfatyNAIFTY\t\x0c\u0661", max_size=8), st.booleans())
def test_parse_float_accepts_exactly_the_grammar(tok: str, om: bool) -> None:
    # parse_float takes a float() shortcut; it must agree with the written grammar.
    pattern = OM_NUMBER_RE if om else TEXT_NUMBER_RE
    try:
        parse_float(tok, om)
        accepted = True
    except LineError:
        accepted = False
    assert accepted == (pattern.fullmatch(tok) is not None)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "line",
    [
        "a " + "1" * 200_000 + "x",  # a number regex that backtracks would take hours here
        'a{x="' + "v" * 200_000 + " 1",
        "a{" + ",".join(f'x{i}="v"' for i in range(20_000)) + " 1",
        "a 1 1 # {" + ",".join(f'x{i}="v"' for i in range(20_000)) + "} 1",
    ],
)
def test_hostile_lines_fail_in_linear_time(line: str) -> None:
    for om in (True, False):
        with pytest.raises(LineError):
            parse_sample_line(line, om)
