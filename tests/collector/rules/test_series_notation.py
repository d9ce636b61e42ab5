"""promtool's expanding notation and series descriptions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import make_labels
from metricslib.collector.model.staleness import is_stale_nan
from metricslib.collector.rules.series_notation import UnsupportedValue, expand_values, parse_series


def test_expanding_notation() -> None:
    got = expand_values("1+2x3 _ stale _x2 5x1 10-1x2 -1 1e3 0x1F")
    assert got[:4] == [1.0, 3.0, 5.0, 7.0] and got[4] is None
    assert is_stale_nan(got[5]) and got[6:8] == [None, None]
    assert got[8:] == [5.0, 5.0, 10.0, 9.0, 8.0, -1.0, 1000.0, 31.0]


@pytest.mark.parametrize("text", ["1+", "abc", "1+2", "x3"])
def test_bad_values_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid value"):
        expand_values(text)


def test_histograms_are_unsupported() -> None:
    with pytest.raises(UnsupportedValue):
        expand_values("{{sum:3 count:2 buckets:[2]}}x2")


@given(start=st.integers(-1000, 1000), step=st.integers(0, 100), count=st.integers(0, 50))
def test_a_run_has_count_plus_one_points(start: int, step: int, count: int) -> None:
    points = expand_values(f"{start}+{step}x{count}")
    assert points == [float(start + step * i) for i in range(count + 1)]


def test_series_descriptions() -> None:
    assert parse_series('up{job="a", instance="x"}') == make_labels({"__name__": "up", "job": "a", "instance": "x"})
    assert parse_series('{__name__="m", a="b"}') == make_labels({"__name__": "m", "a": "b"})
    with pytest.raises(ValueError, match="only '='"):
        parse_series('up{job=~"a"}')
    with pytest.raises(ValueError, match="parse error"):
        parse_series('up{job="a"')
