"""Top-N cardinality lists for the TSDB status page."""

from __future__ import annotations

from metricslib.collector.storage.cardinality import cardinality
from metricslib.collector.storage.index import PostingsIndex


def test_top_lists_count_series_values_bytes_and_pairs() -> None:
    index = PostingsIndex()
    series = [
        (("__name__", "up"), ("job", "api"), ("instance", "a:1")),
        (("__name__", "up"), ("job", "api"), ("instance", "b:1")),
        (("__name__", "up"), ("job", "db"), ("instance", "c:1")),
        (("__name__", "http_requests_total"), ("job", "api"), ("code", "200")),
    ]
    for sid, labels in enumerate(series):
        index.add(sid, labels)
    stats = cardinality({n: index.values_of(n) for n in index.label_names()}, limit=2)
    assert stats["seriesCountByMetricName"] == [{"name": "up", "value": 3}, {"name": "http_requests_total", "value": 1}]
    assert stats["labelValueCountByLabelName"] == [{"name": "instance", "value": 3}, {"name": "__name__", "value": 2}]
    # __name__: 3 x len("up") + 19; instance: 3 x 3; job: 3 x 3 + 2
    assert stats["memoryInBytesByLabelName"] == [{"name": "__name__", "value": 25}, {"name": "job", "value": 11}]
    assert stats["seriesCountByLabelValuePair"] == [{"name": "__name__=up", "value": 3}, {"name": "job=api", "value": 3}]


def test_an_empty_head_has_empty_lists() -> None:
    assert cardinality({}) == {"seriesCountByMetricName": [], "labelValueCountByLabelName": [],
                               "memoryInBytesByLabelName": [], "seriesCountByLabelValuePair": []}
