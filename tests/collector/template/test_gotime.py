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


@pytest.mark.parametrize(
    ("layout", "text"),
    [("2006-01-02 15:04:05.999999999 -0700 MST", "2023-11-14 22:13:20.123 +0000 UTC"),
     ("Mon Jan _2 15:04:05 2006", "Tue Nov 14 22:13:20 2023"),
     ("January 2, 2006 3:04PM", "November 14, 2023 10:13PM"),
     ("2006-01-02T15:04:05Z07:00", "2023-11-14T22:13:20Z"),
     ("15:04:05.000", "22:13:20.123"),
     ("Monday 002 .99 06", "Tuesday 318 .12 23"),
     ("Jane Monk", "Jane Monk")],  # "Jan"/"Mon" followed by a lower-case letter is text, as in Go
)  # fmt: skip
def test_time_format_with_go_layouts(layout: str, text: str) -> None:
    assert GoTime(1700000000123).format(layout) == text


def test_time_methods_in_templates() -> None:
    from metricslib.collector.template import parse_template
    from metricslib.collector.template.promfuncs import prometheus_functions

    template = parse_template("t", "{{ $t := toTime 1e9 }}{{ $t.Year }} {{ $t.Month }} {{ $t.Weekday }} {{ $t.Unix }}",
                              prometheus_functions())  # fmt: skip
    assert template.execute(None) == "2001 September Sunday 1000000000"
