"""Values and timestamps as Prometheus prints them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model.value_text import (
    format_float,
    format_time,
    format_value_row,
    go_float_e,
)


@given(st.lists(st.one_of(st.integers(-(10**16), 10**16).map(float), st.floats()), max_size=40))
def test_value_rows_print_every_float_as_go_does(values: list[float]) -> None:
    assert format_value_row(values) == [format_float(v).encode() for v in values]


@given(
    st.lists(
        st.floats(min_value=1e-4, max_value=1e16) | st.floats(min_value=-1e16, max_value=-1e-4),
        min_size=1,
    )
)
def test_value_rows_use_shortest_digits_for_plain_floats(values: list[float]) -> None:
    # The range where the fast path trusts orjson's digits instead of repr's.
    assert format_value_row(values) == [format_float(v).encode() for v in values]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1000000.0, "1000000"),
        (0.1, "0.1"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (-0.0, "-0"),
        (0.0, "0"),
        (123456789.125, "123456789.125"),
    ],
)
def test_format_float_matches_go(value: float, text: str) -> None:
    assert format_float(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_float_round_trips_without_exponent(value: float) -> None:
    text = format_float(value)
    assert "e" not in text.lower()
    assert float(text) == value


def test_format_time_keeps_millisecond_precision() -> None:
    assert format_time(1435781451781) == 1435781451.781
    assert format_time(1435781451000) == 1435781451
    assert isinstance(format_time(5000), int)


@pytest.mark.parametrize(("value", "lower", "upper"), [
    (0.0, "0e+00", "0E+00"), (1234.5, "1.2345e+03", "1.2345E+03"), (-2.5e-300, "-2.5e-300", "-2.5E-300"),
    (1 / 3, "3.333333333333333e-01", "3.333333333333333E-01"), (float("-inf"), "-Inf", "-Inf"),
])
def test_go_float_e_in_both_cases(value: float, lower: str, upper: str) -> None:
    # /api/v1/alerts writes %e; promtool test rules writes %E.
    assert go_float_e(value) == lower
    assert go_float_e(value, "E") == upper
