"""The status and helper endpoints the UI and Grafana read: tsdb, runtimeinfo,
targets/metadata, format_query, parse_query, stats=all, query_exemplars."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from metricslib.collector.model import Labels
from metricslib.collector.promql.engine import Engine
from metricslib.collector.web.api.runtimeinfo import RuntimeInfo
from metricslib.collector.web.api.v1 import PrometheusAPI, Request
from tests.collector.fakes import sample_querier, simple_selector


@dataclass
class FakeTarget:
    public_labels: Labels
    metadata: dict[str, tuple[str, str, str]]
    lock: threading.Lock = field(default_factory=threading.Lock)


TARGETS = [
    FakeTarget((("instance", "b:2"), ("job", "web")), {"up_time": ("untyped", "", ""), "x": ("counter", "X.", "")}),
    FakeTarget((("instance", "a:1"), ("job", "api")), {"x": ("counter", "X.", ""), "mem": ("gauge", "M.", "bytes")}),
]


def make_api(**parts: Any) -> PrometheusAPI:
    return PrometheusAPI(
        engine_factory=lambda timeout_ms: Engine(sample_querier()),
        querier_factory=sample_querier,
        parse_selector=simple_selector,
        active_targets=lambda: TARGETS,
        **parts,
    )


def call(api: PrometheusAPI, path: str, **params: str) -> tuple[int, Any]:
    resp = api.handle(Request("GET", path, {k: [v] for k, v in params.items()}))
    return resp.status, json.loads(resp.body) if resp.body else None


def test_status_tsdb_passes_the_limit_and_refuses_a_non_positive_one() -> None:
    asked: list[int] = []

    def status(limit: int) -> dict[str, object]:
        asked.append(limit)
        return {"headStats": {"numSeries": 3}}

    api = make_api(tsdb_status=status)
    assert call(api, "/api/v1/status/tsdb") == (200, {"status": "success", "data": {"headStats": {"numSeries": 3}}})
    call(api, "/api/v1/status/tsdb", limit="3")
    assert asked == [10, 3]
    for bad in ("0", "-1", "x"):
        status_code, body = call(api, "/api/v1/status/tsdb", limit=bad)
        assert (status_code, body["errorType"], body["error"]) == (400, "bad_data", "limit must be a positive number")


def test_runtimeinfo_has_every_prometheus_field() -> None:
    info = RuntimeInfo(start_time=1_750_000_000.25, retention_ms=15 * 86_400_000,
                       reload_state=lambda: (False, 1_750_000_100.9))
    status, body = call(make_api(runtime_info=info), "/api/v1/status/runtimeinfo")
    data = body["data"]
    assert status == 200
    assert set(data) == {"startTime", "CWD", "reloadConfigSuccess", "lastConfigTime", "corruptionCount",
                         "goroutineCount", "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "storageRetention"}
    assert data["startTime"] == "2025-06-15T15:06:40.25Z"
    assert data["lastConfigTime"] == "2025-06-15T15:08:20Z"
    assert data["reloadConfigSuccess"] is False
    assert data["storageRetention"] == "15d"
    assert data["goroutineCount"] >= 1 and data["GOMAXPROCS"] >= 1 and data["GOMEMLIMIT"] > 0


def test_targets_metadata_lists_one_entry_per_target_and_metric() -> None:
    status, body = call(make_api(), "/api/v1/targets/metadata")
    assert status == 200
    assert body["data"][:2] == [
        {"target": {"instance": "a:1", "job": "api"}, "metric": "mem", "type": "gauge", "help": "M.", "unit": "bytes"},
        {"target": {"instance": "a:1", "job": "api"}, "metric": "x", "type": "counter", "help": "X.", "unit": ""},
    ]
    assert body["data"][2]["type"] == "unknown"  # untyped, as Prometheus names it
    _, body = call(make_api(), "/api/v1/targets/metadata", metric="x", match_target='{job="web"}')
    assert body["data"] == [{"target": {"instance": "b:2", "job": "web"}, "type": "counter", "help": "X.", "unit": ""}]


def test_targets_metadata_limit_is_checked_before_each_target_as_prometheus() -> None:
    _, body = call(make_api(), "/api/v1/targets/metadata", limit="1")
    assert len(body["data"]) == 2  # the first target's entries stay whole
    _, body = call(make_api(), "/api/v1/targets/metadata", limit="0")
    assert body["data"] == []
    status, body = call(make_api(), "/api/v1/targets/metadata", limit="x")
    assert (status, body["error"]) == (400, "limit must be a number")
    status, body = call(make_api(), "/api/v1/targets/metadata", match_target="bad{")
    assert status == 400
    assert body["error"] == 'invalid parameter "match_target": 1:5: parse error: unexpected end of input inside braces'


def test_format_and_parse_query_endpoints() -> None:
    assert call(make_api(), "/api/v1/format_query", query="sum(x)by(a)") == (
        200, {"status": "success", "data": "sum by (a) (x)"})
    status, body = call(make_api(), "/api/v1/parse_query", query="x")
    assert status == 200 and body["data"]["type"] == "vectorSelector"
    status, body = call(make_api(), "/api/v1/format_query")
    assert (status, body["errorType"]) == (400, "bad_data")


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/query", {"time": "16"}),
    ("/api/v1/query_range", {"start": "1", "end": "16", "step": "5"}),
])
def test_stats_adds_timings_and_loaded_samples(path: str, params: dict[str, str]) -> None:
    status, body = call(make_api(), path, query="up", stats="all", **params)
    stats = body["data"]["stats"]
    assert status == 200
    assert set(stats["timings"]) == {"evalTotalTime", "resultSortTime", "queryPreparationTime",
                                     "innerEvalTime", "execQueueTime", "execTotalTime"}
    assert stats["samples"]["totalQueryableSamples"] > 0
    assert stats["samples"]["peakSamples"] == stats["samples"]["totalQueryableSamples"]
    _, plain = call(make_api(), path, query="up", **params)
    assert "stats" not in plain["data"]


def test_query_exemplars_without_a_query_is_bad_data() -> None:
    status, body = call(make_api(), "/api/v1/query_exemplars")
    assert (status, body["errorType"], body["error"]) == (400, "bad_data", "1:1: parse error: no expression found in input")
    assert call(make_api(), "/api/v1/query_exemplars", query="up") == (200, {"status": "success", "data": []})
