from __future__ import annotations

import datetime
import json

from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.notifier.alert import Alert
from metricslib.collector.notifier.payload import encode_alerts, format_time


def test_times_are_rfc3339_with_milliseconds_in_utc() -> None:
    assert format_time(0) == "1970-01-01T00:00:00.000Z"
    assert format_time(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"


def test_body_is_alertmanager_v2_list() -> None:
    firing = Alert({"alertname": "Up", "job": "api"}, {"summary": "s"}, 10.0, None, "http://x/graph")
    resolved = Alert({"alertname": "Down"}, {}, 10.0, 70.5, "")
    body = json.loads(encode_alerts([firing, resolved]))
    assert body == [
        {"labels": {"alertname": "Up", "job": "api"}, "annotations": {"summary": "s"},
         "startsAt": "1970-01-01T00:00:10.000Z", "generatorURL": "http://x/graph"},
        {"labels": {"alertname": "Down"}, "annotations": {},
         "startsAt": "1970-01-01T00:00:10.000Z", "endsAt": "1970-01-01T00:01:10.500Z", "generatorURL": ""},
    ]


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_time_text_reads_back_within_a_millisecond(t: float) -> None:
    text = format_time(t)
    back = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    assert abs(back - t) <= 0.0005 + 1e-6


@given(st.dictionaries(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True), st.text(max_size=10),
                       max_size=4))
def test_labels_and_annotations_survive_json(annotations: dict[str, str]) -> None:
    alert = Alert({"alertname": "A", **annotations}, annotations, 1.0)
    (body,) = json.loads(encode_alerts([alert]))
    assert body["annotations"] == annotations and body["labels"] == {"alertname": "A", **annotations}
