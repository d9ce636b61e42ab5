from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.config.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0", 0),
        ("0s", 0),
        ("15s", 15_000),
        ("500ms", 500),
        ("1m30s", 90_000),
        ("1d2h30m", (24 + 2) * 3_600_000 + 30 * 60_000),
        ("1w", 7 * 86_400_000),
        ("1y", 365 * 86_400_000),
        ("1h1ms", 3_600_001),
    ],
)
def test_parse(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "1", "15", "1.5s", "1s1m", "1m1m", "s", "-1s", "1 s", "1S", "1h "])
def test_rejects_non_prometheus_syntax(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid duration"):
        parse_duration(text)


def test_format_is_canonical() -> None:
    assert format_duration(90_000) == "1m30s"
    assert format_duration(0) == "0s"
    assert str(Duration(86_400_000 * 8)) == "1w1d"
    assert Duration(1500).seconds == 1.5


@given(st.integers(min_value=0, max_value=(2**63 - 1) // 1_000_000))
def test_format_parse_round_trip(ms: int) -> None:
    assert parse_duration(format_duration(ms)) == ms


def test_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_duration("300y")
