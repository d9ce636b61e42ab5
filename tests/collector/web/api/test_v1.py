import json

import pytest

from metricslib.collector.promql.values import QueryResult, ResultSeries
from metricslib.collector.web.api.v1 import PrometheusAPI, Request
from metricslib.errors import PromQLParseError, QueryTimeoutError
from tests.collector.fakes import RecordingEngine, sample_querier, simple_selector


class FakeCollector:
    config_text = "global:\n  scrape_interval: 15s\n"

    def targets(self, state: str = "any") -> dict[str, object]:
        return {"activeTargets": [{"health": "up", "state": state}], "droppedTargets": []}

    def metadata(self, metric: str | None = None, limit: int | None = None) -> dict[str, list[dict[str, str]]]:
        data = {"up": [{"type": "gauge", "help": "", "unit": ""}], "x": [{"type": "counter", "help": "X", "unit": ""}]}
        return {k: v for k, v in data.items() if metric in (None, k)}


def make_api(engine: RecordingEngine | None = None) -> tuple[PrometheusAPI, RecordingEngine]:
    engine = engine or RecordingEngine()
    api = PrometheusAPI(
        engine_factory=lambda timeout_ms: engine,
        querier_factory=sample_querier,
        parse_selector=simple_selector,
        collector=FakeCollector(),
        flags={"storage.tsdb.retention.time": "15d"},
        build_info={"version": "2.42.0"},
        clock=lambda: 1000.5,
    )
    return api, engine


def call(api: PrometheusAPI, path: str, method: str = "GET", **params: str | list[str]) -> tuple[int, dict]:
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    resp = api.handle(Request(method, path, as_lists))
    return resp.status, json.loads(resp.body)


def test_instant_query_defaults_time_to_now_and_wraps_in_envelope() -> None:
    api, engine = make_api()
    status, body = call(api, "/api/v1/query", query="up")
    assert status == 200
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    assert engine.calls == [("instant", "up", 1000500)]


def test_instant_query_accepts_rfc3339_and_unix_times() -> None:
    api, engine = make_api()
    call(api, "/api/v1/query", query="up", time="2015-07-01T20:10:51.781Z")
    call(api, "/api/v1/query", method="POST", query="up", time="1435781451.781")
    assert engine.calls[0][2] == engine.calls[1][2] == 1435781451781


def test_range_query_parses_duration_steps_and_reports_warnings() -> None:
    api, engine = make_api()
    status, body = call(api, "/api/v1/query_range", query="up", start="0", end="600", step="15s")
    assert status == 200
    assert body["warnings"] == ["a warning"]
    assert body["infos"] == ["an info"]
    assert engine.calls == [("range", "up", 0, 600_000, 15_000)]
    call(api, "/api/v1/query_range", query="up", start="0", end="600", step="2.5")
    assert engine.calls[-1][-1] == 2500


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"query": "up", "start": "10", "end": "5", "step": "1"}, "end timestamp must not be before start"),
        ({"query": "up", "start": "0", "end": "5", "step": "0"}, "zero or negative query resolution"),
        ({"query": "up", "start": "0", "end": "100000", "step": "1"}, "11,000 points"),
        ({"query": "up", "start": "yesterday", "end": "5", "step": "1"}, 'invalid parameter "start"'),
        ({"query": "up", "start": "0", "end": "5", "step": "soon"}, 'invalid parameter "step"'),
        ({"query": "up", "start": "0", "end": "5"}, 'invalid parameter "step"'),
    ],
)
def test_range_query_rejects_bad_parameters_as_bad_data(params: dict[str, str], fragment: str) -> None:
    api, engine = make_api()
    status, body = call(api, "/api/v1/query_range", **params)
    assert status == 400
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert fragment in body["error"]
    assert engine.calls == []


def test_query_errors_map_to_prometheus_error_types_and_statuses() -> None:
    api, engine = make_api()
    engine.error = PromQLParseError('1:5: parse error: unexpected "}"', 4)
    status, body = call(api, "/api/v1/query", query="up{}}")
    assert (status, body["errorType"]) == (400, "bad_data")
    assert "1:5: parse error" in body["error"]
    engine.error = QueryTimeoutError("query timed out in expression evaluation")
    status, body = call(api, "/api/v1/query", query="up")
    assert (status, body["errorType"]) == (503, "timeout")


def test_empty_query_is_bad_data() -> None:
    api, _ = make_api()
    status, body = call(api, "/api/v1/query", query="")
    assert status == 400 and "query must not be empty" in body["error"]


def test_series_needs_match_and_returns_label_sets() -> None:
    api, _ = make_api()
    status, body = call(api, "/api/v1/series")
    assert status == 400 and body["error"] == "no match[] parameter provided"
    status, body = call(api, "/api/v1/series", **{"match[]": ['up{job="api"}', "http_requests_total"]})
    assert status == 200
    assert body["data"] == [
        {"__name__": "http_requests_total", "code": "200", "job": "api"},
        {"__name__": "up", "instance": "a:1", "job": "api"},
    ]


def test_series_limit_truncates_with_a_warning() -> None:
    api, _ = make_api()
    _, body = call(api, "/api/v1/series", **{"match[]": "up", "limit": "1"})
    assert len(body["data"]) == 1 and body["warnings"] == ["results truncated due to limit"]


def test_labels_and_label_values() -> None:
    api, _ = make_api()
    _, body = call(api, "/api/v1/labels")
    assert body["data"] == ["__name__", "code", "instance", "job"]
    _, body = call(api, "/api/v1/label/job/values")
    assert body["data"] == ["api", "web"]
    _, body = call(api, "/api/v1/label/job/values", **{"match[]": "http_requests_total"})
    assert body["data"] == ["api"]
    _, body = call(api, "/api/v1/label/__name__/values")
    assert body["data"] == ["http_requests_total", "up"]


def test_label_values_rejects_invalid_label_names() -> None:
    api, _ = make_api()
    status, body = call(api, "/api/v1/label/1abc/values")
    assert status == 400 and 'invalid label name: "1abc"' in body["error"]


def test_status_endpoints_and_targets_and_metadata() -> None:
    api, _ = make_api()
    assert call(api, "/api/v1/status/buildinfo")[1]["data"]["version"] == "2.42.0"
    assert call(api, "/api/v1/status/config")[1]["data"]["yaml"].startswith("global:")
    assert call(api, "/api/v1/status/flags")[1]["data"]["storage.tsdb.retention.time"] == "15d"
    assert call(api, "/api/v1/targets", state="active")[1]["data"]["activeTargets"][0]["state"] == "active"
    assert call(api, "/api/v1/metadata", metric="x")[1]["data"] == {"x": [{"type": "counter", "help": "X", "unit": ""}]}
    assert call(api, "/api/v1/rules")[1]["data"] == {"groups": []}


def test_unknown_endpoint_is_not_found() -> None:
    api, _ = make_api()
    status, body = call(api, "/api/v1/nope")
    assert status == 404 and body["errorType"] == "not_found"


def test_engine_results_are_written_as_json_text_inside_the_envelope() -> None:
    engine = RecordingEngine()
    result = QueryResult("vector", [ResultSeries((("a", "\u00e9"),), [1000], [2.0])], warnings=["w"])
    engine.instant_query = lambda query, t_ms: result  # type: ignore[method-assign,assignment,return-value]
    api, _ = make_api(engine)
    status, body = call(api, "/api/v1/query", query="x")
    assert status == 200
    assert body == {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {"a": "é"}, "value": [1, "2"]}]},
        "warnings": ["w"],
    }


def test_walreplay_reports_the_storage_progress_in_prometheus_shape() -> None:
    api, _ = make_api()
    status, body = call(api, "/api/v1/status/walreplay")
    assert status == 503 and body["errorType"] == "unavailable"  # no storage to ask
    api = PrometheusAPI(
        engine_factory=lambda timeout_ms: RecordingEngine(),
        querier_factory=sample_querier,
        parse_selector=simple_selector,
        wal_replay=lambda: {"min": 3, "max": 5, "current": 5},
    )
    assert call(api, "/api/v1/status/walreplay") == (
        200, {"status": "success", "data": {"min": 3, "max": 5, "current": 5}}
    )
