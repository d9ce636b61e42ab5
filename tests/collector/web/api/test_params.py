from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.web.api.params import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    parse_duration_ms,
    parse_time_ms,
)


def test_times_in_both_spellings() -> None:
    assert parse_time_ms("1435781451.781") == 1435781451781
    assert parse_time_ms("2015-07-01T20:10:51.781Z") == 1435781451781
    assert parse_time_ms("2015-07-01T22:10:51.781+02:00") == 1435781451781
    # Go clients send nanoseconds.
    assert parse_time_ms("2015-07-01T20:10:51.781123456Z") == 1435781451781


def test_prometheus_min_and_max_time_sentinels_clamp() -> None:
    assert parse_time_ms("-292273086-05-16T16:47:06Z") == MIN_TIME_MS
    assert parse_time_ms("292277025-08-18T07:12:54.999999999Z") == MAX_TIME_MS
    assert parse_time_ms("1e30") == MAX_TIME_MS


@pytest.mark.parametrize("text", ["", "yesterday", "NaN", "2015-13-01T00:00:00Z"])
def test_bad_times_name_the_parameter(text: str) -> None:
    with pytest.raises(ValueError, match='invalid parameter "start"'):
        parse_time_ms(text, "start")


def test_durations_as_seconds_or_prometheus_syntax() -> None:
    assert parse_duration_ms("15") == 15000
    assert parse_duration_ms("0.5") == 500
    assert parse_duration_ms("1m30s") == 90000
    with pytest.raises(ValueError, match='invalid parameter "step"'):
        parse_duration_ms("1x", "step")
    with pytest.raises(ValueError):
        parse_duration_ms("inf")


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(timezone.utc)))
def test_rfc3339_and_unix_agree(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    expected = round(moment.timestamp() * 1000)
    assert parse_time_ms(moment.isoformat().replace("+00:00", "Z")) == expected
    assert parse_time_ms(f"{expected / 1000:.3f}") == expected
