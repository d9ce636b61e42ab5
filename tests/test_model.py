"""Model: name rules, escaping, value formatting, MetricFamily."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.errors import InvalidLabelsError, InvalidMetricError, InvalidNameError
from metricslib.model import (
    Exemplar,
    MetricFamily,
    Sample,
    escape_help,
    escape_label_value,
    format_value,
    validate_exemplar,
    validate_label_name,
    validate_labelnames,
    validate_metric_name,
)


@pytest.mark.parametrize("name", ["a", "_a", "a:b", "http_requests_total", "A1_"])
def test_valid_metric_names(name: str) -> None:
    assert validate_metric_name(name) == name


@pytest.mark.parametrize("name", ["", "1a", "a-b", "a b", "ä", 3])
def test_invalid_metric_names_are_named_in_the_error(name: object) -> None:
    with pytest.raises(InvalidNameError, match=repr(name).replace("[", r"\[")):
        validate_metric_name(name)


def test_label_names() -> None:
    assert validate_label_name("method") == "method"
    with pytest.raises(InvalidNameError, match="'a:b'"):
        validate_label_name("a:b")
    with pytest.raises(InvalidLabelsError, match=r"'__x'.*'m'"):
        validate_label_name("__x", "m")
    with pytest.raises(InvalidLabelsError, match="'le'"):
        validate_labelnames("h", ["a", "le"], reserved=["le"])
    with pytest.raises(InvalidLabelsError, match="'a' appears twice"):
        validate_labelnames("h", ["a", "a"])


@given(st.text())
def test_escape_label_value_is_reversible(value: str) -> None:
    escaped = escape_label_value(value)
    assert "\n" not in escaped
    unescaped = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], escaped)
    assert unescaped == value


def test_escape_help() -> None:
    assert escape_help('a\\b\n"c"') == 'a\\\\b\\n"c"'
    assert escape_help('a\\b\n"c"', openmetrics=True) == 'a\\\\b\\n\\"c\\"'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1.0"),
        (0.5, "0.5"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
        (1234567.0, "1.234567e+06"),
        (123456.0, "123456.0"),
        (1e-9, "1e-09"),
        (-1234567.0, "-1234567.0"),
    ],
)
def test_format_value(value: float, text: str) -> None:
    assert format_value(value) == text


def test_metric_family_strips_suffixes_and_checks_unit_and_type() -> None:
    assert MetricFamily("jobs_total", "J", "counter").name == "jobs"
    assert MetricFamily("build_info", "B", "info").name == "build"
    assert MetricFamily("x_total", "X", "gauge").name == "x_total"
    with pytest.raises(InvalidNameError, match="_seconds"):
        MetricFamily("latency", "L", "histogram", unit="seconds")
    with pytest.raises(InvalidMetricError, match="'bogus'"):
        MetricFamily("x", "X", "bogus")


def test_metric_family_equality_and_samples() -> None:
    a = MetricFamily("x", "X", "gauge")
    a.add_sample("x", {"k": "v"}, 1.0)
    b = MetricFamily("x", "X", "gauge")
    b.add_sample("x", {"k": "v"}, 1.0)
    assert a == b
    assert a.samples[0] == Sample("x", {"k": "v"}, 1.0, None, None)
    b.add_sample("x", {}, 2.0)
    assert a != b


def test_validate_exemplar() -> None:
    assert validate_exemplar({"trace_id": 12}) == {"trace_id": "12"}
    with pytest.raises(InvalidNameError, match="'bad-name'"):
        validate_exemplar({"bad-name": "x"})
    with pytest.raises(InvalidLabelsError, match="129 characters"):
        validate_exemplar({"t": "x" * 128})
    assert Exemplar({"a": "b"}, 1.0).timestamp is None
