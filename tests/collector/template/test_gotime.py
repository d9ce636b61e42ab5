"""Go's Time.String() and Duration.String() texts."""

from __future__ import annotations

import pytest

from metricslib.collector.template.gotime import GoTime, duration_string


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_500_000, "1.5ms"), (1_000_000_000, "1s"), (61_000_000_000, "1m1s"),
     (3_661_500_000_000, "1h1m1.5s"), (3_600_000_000_000, "1h0m0s"), (-90_000_000_000, "-1m30s"),
     (100 * 3_600_000_000_000, "100h0m0s")],
)  # fmt: skip
def test_duration_string(ns: int, text: str) -> None:
    assert duration_string(ns) == text


def test_time_string() -> None:
    assert GoTime(1500).go_string() == "1970-01-01 00:00:01.5 +0000 UTC"
    assert GoTime(1700000000120).go_string() == "2023-11-14 22:13:20.12 +0000 UTC"
    assert GoTime(-1500).go_string() == "1969-12-31 23:59:58.5 +0000 UTC"
    assert GoTime(0) == GoTime(0) and GoTime(0) != GoTime(1)
