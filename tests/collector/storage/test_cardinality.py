"""Top-N cardinality lists for the TSDB status page."""

from __future__ import annotations

from pathlib import Path

from metricslib.collector.storage import open_storage
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
    # each distinct value once: __name__: len("up") + 19; instance: 3 x 3; job: 3 + 2
    assert stats["memoryInBytesByLabelName"] == [{"name": "__name__", "value": 21}, {"name": "instance", "value": 9}]
    assert stats["seriesCountByLabelValuePair"] == [{"name": "__name__=up", "value": 3}, {"name": "job=api", "value": 3}]


def test_an_empty_head_has_empty_lists() -> None:
    assert cardinality({}) == {"seriesCountByMetricName": [], "labelValueCountByLabelName": [],
                               "memoryInBytesByLabelName": [], "seriesCountByLabelValuePair": []}


def test_tsdb_status_counts_series_pairs_chunks_and_time_range(tmp_path: Path) -> None:
    with open_storage(tmp_path, background=False, head_chunk_samples=2) as store:
        app = store.appender()
        for t in (1_000, 2_000, 3_000):
            app.append((("__name__", "up"), ("job", "api")), t, 1.0)
            app.append((("__name__", "up"), ("job", "db")), t + 500, 1.0)
        app.commit()
        status = store.tsdb_status(limit=1)
        # one open chunk per series with samples not yet cut
        assert status["headStats"] == {"numSeries": 2, "numLabelPairs": 3, "chunkCount": 2,
                                       "minTime": 1_000, "maxTime": 3_500}
        assert status["seriesCountByMetricName"] == [{"name": "up", "value": 2}]
        store.flush(cut_all=True)
        after = store.tsdb_status()["headStats"]
        assert after["chunkCount"] == 2 and after["minTime"] == 1_000 and after["maxTime"] == 3_500
        app = store.appender()
        app.append((("__name__", "up"), ("job", "api")), 4_000, 1.0)
        app.commit()
        assert store.tsdb_status()["headStats"]["chunkCount"] == 3  # two cut, one open


def test_an_empty_store_reports_prometheus_empty_time_range(tmp_path: Path) -> None:
    with open_storage(tmp_path, background=False) as store:
        stats = store.tsdb_status()["headStats"]
    assert stats == {"numSeries": 0, "numLabelPairs": 0, "chunkCount": 0,
                     "minTime": 2**63 - 1, "maxTime": -(2**63)}
