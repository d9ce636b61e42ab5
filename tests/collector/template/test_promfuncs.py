"""Prometheus's template functions, with the exact texts Prometheus produces."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.template import TemplateSample
from metricslib.collector.template.promfuncs import (
    convert_to_float,
    graph_link,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    humanize_timestamp,
    match,
    parse_duration,
    re_replace_all,
    split_host_port,
    strip_domain,
    strip_port,
    title,
    to_duration,
    to_time,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234567, "1.235M"), (0, "0"), (0.000123, "123u"), (-1500, "-1.5k"), (1e30, "1e+06Y"), ("12345", "12.35k"),
     (0.1234, "123.4m"), (999.95, "1000"), (999999, "1000k"), (1e-30, "1e-06y"), (math.nan, "NaN"), (math.inf, "+Inf")],
)  # fmt: skip
def test_humanize(value: Any, text: str) -> None:
    assert humanize(value) == text


def test_humanize_family() -> None:
    assert [humanize1024(v) for v in (1024, 1, 1e9, -2048, 0.5, 1048576, "1e12")] == [
        "1ki", "1", "953.7Mi", "-2ki", "0.5", "1Mi", "931.3Gi",
    ]  # fmt: skip
    assert [humanize_duration(v) for v in (3661, 0, 0.0015, 90061, -65, 1.5, 59.99, 1e-6, 86400, 1e-10)] == [
        "1h 1m 1s", "0s", "1.5ms", "1d 1h 1m 1s", "-1m 5s", "1.5s", "59.99s", "1us", "1d 0h 0m 0s", "100ps",
    ]  # fmt: skip
    assert [humanize_percentage(v) for v in (0.1234, 1, 0.000012345, "0.5")] == [
        "12.34%",
        "100%",
        "0.001234%",
        "50%",
    ]


def test_timestamps() -> None:
    assert humanize_timestamp(1.5) == "1970-01-01 00:00:01.5 +0000 UTC"
    assert humanize_timestamp(1700000000.123456) == "2023-11-14 22:13:20.123 +0000 UTC"
    assert humanize_timestamp(-1.5) == "1969-12-31 23:59:58.5 +0000 UTC"
    assert humanize_timestamp(math.nan) == "NaN"
    assert to_time(1700000000).go_string() == "2023-11-14 22:13:20 +0000 UTC"
    with pytest.raises(ValueError, match="overflows int64"):
        humanize_timestamp(253402300800)


def test_durations() -> None:
    assert [parse_duration(d) for d in ("1h30m", "1w", "100ms", "0", "1y")] == [
        5400.0,
        604800.0,
        0.1,
        0.0,
        31536000.0,
    ]
    for bad in ("", "1x", "h", "1.5h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert to_duration(3661.5).go_string() == "1h1m1.5s"
    assert [to_duration(v).go_string() for v in (0, 0.25, 60, 0.0000015)] == [
        "0s",
        "250ms",
        "1m0s",
        "1.5µs",
    ]


def test_convert_to_float_accepts_what_prometheus_accepts() -> None:
    assert (
        convert_to_float("1e3") == 1000.0
        and convert_to_float(3) == 3.0
        and math.isinf(convert_to_float("+Inf"))
    )
    with pytest.raises(ValueError, match=r'^strconv.ParseFloat: parsing "abc": invalid syntax$'):
        convert_to_float("abc")
    with pytest.raises(ValueError, match=r"^can't convert bool to float$"):
        convert_to_float(True)


def test_regex_functions_use_go_syntax_and_replacement_rules() -> None:
    assert re_replace_all("(.*):.*", "$1", "host1.dc1:9100") == "host1.dc1"
    assert (
        re_replace_all("x*", "-", "abxd") == "-a-b-d-"
    )  # Go skips an empty match right after a match
    assert re_replace_all("(a)", "$1x", "cat") == "ct"  # $1x names group "1x", which does not exist
    assert re_replace_all("(a)", "${1}x", "cat") == "caxt"
    assert re_replace_all("(?P<h>[^.]+)\\..*", "${h}", "a.b.c") == "a"
    assert re_replace_all("[[:digit:]]+", "#", "a12b3") == "a#b#"
    assert re_replace_all("a", "$$", "a") == "$"
    assert match("(?i)^HOST", "host1") and not match("z", "abc")
    with pytest.raises(
        ValueError,
        match=r"^regexp: Compile\(`\(`\): error parsing regexp: missing closing \): `\(`$",
    ):
        re_replace_all("(", "x", "y")


def test_title_uses_go_word_boundaries() -> None:
    assert title("hello world-foo_bar x.y") == "Hello World-Foo_bar X.Y"
    assert (
        title("élan vital") == "Élan Vital"
        and title("o'neil") == "O'Neil"
        and title("x1y z") == "X1y Z"
    )


def test_host_helpers() -> None:
    assert split_host_port("[::1]:80") == ("::1", "80") and split_host_port("::1") is None
    assert [strip_port(v) for v in ("host1.dc1:9100", "[::1]:80", "nohost", "::1")] == [
        "host1.dc1",
        "::1",
        "nohost",
        "::1",
    ]
    assert [strip_domain(v) for v in ("host1.dc1:9100", "10.0.0.1:80", "host1.dc1", "[::1]:80")] == [
        "host1:9100", "10.0.0.1:80", "host1", "[::1]:80",
    ]  # fmt: skip


def test_links() -> None:
    assert graph_link('sum by (job) (rate(x{a="b"}[5m]))') == (
        "/graph?g0.expr=sum+by+%28job%29+%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29&g0.tab=0"
    )


def test_samples_print_as_go_pointers() -> None:
    from metricslib.collector.template.gofmt import print_value, sprintf

    s = TemplateSample({"job": "a", "__name__": "m"}, 2.5)
    assert print_value(s) == "{map[__name__:m job:a] 2.5}"
    assert sprintf("%v %T", [s, s]) == "&{map[__name__:m job:a] 2.5} *template.sample"


@given(st.floats(min_value=1, max_value=1e24, allow_nan=False))
def test_humanize_of_large_numbers_reads_back_within_its_precision(value: float) -> None:
    text = humanize(value)
    scale = {
        "": 1,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "P": 1e15,
        "E": 1e18,
        "Z": 1e21,
        "Y": 1e24,
    }
    number, prefix = (text[:-1], text[-1]) if text[-1] in "kMGTPEZY" else (text, "")
    assert float(number) * scale[prefix] == pytest.approx(value, rel=1e-3)


def test_case_mapping_is_go_s_rune_by_rune_mapping() -> None:
    from metricslib.collector.template.promfuncs import to_lower, to_upper

    assert (
        to_upper("aBc ß") == "ABC ß" and to_lower("İ AbC") == "i abc" and title("ǆemal") == "ǅemal"
    )
