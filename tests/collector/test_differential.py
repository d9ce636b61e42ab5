"""Differential test: the same data in a real Prometheus 2.42 and in our collector.

Prometheus gets the workload through ``promtool tsdb create-blocks-from
openmetrics``, we get it through ``metricslib import``; then a broad set of
instant and range queries goes through both HTTP APIs and the answers must
hold the same series with values within a relative 1e-5. Real clients
(``promtool query``, ``prometheus-api-client``) are pointed at the collector.
"""

from __future__ import annotations

import json
import math
import subprocess
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.collector.workload import ServerPair, prometheus_and_collector, write_workload
from tests.helpers import http_get, require_tool

pytestmark = pytest.mark.integration

REL_TOL = 1e-5

# Each query is evaluated instantly at several times and as short and long range queries.
QUERIES = [
    "image_gallery_requests_total",
    'image_gallery_requests_total{code="200",route=~"/images.*"}',
    'image_gallery_requests_total{code!="200",instance!~"app-0.*"}',
    'sum(image_gallery_requests_total{code="200"}) without(instance)',
    "sum by (route) (rate(image_gallery_requests_total[5m]))",
    "rate(image_gallery_requests_total[1m])",
    "irate(image_gallery_requests_total[2m])",
    "increase(image_gallery_requests_total[10m])",
    "resets(image_gallery_requests_total[30m])",
    "changes(room_temperature_celsius[15m])",
    "delta(room_temperature_celsius[10m])",
    "idelta(room_temperature_celsius[5m])",
    "deriv(process_resident_memory_bytes[10m])",
    "predict_linear(process_resident_memory_bytes[10m], 3600)",
    "avg_over_time(room_temperature_celsius[5m])",
    "min_over_time(room_temperature_celsius[5m]) - max_over_time(room_temperature_celsius[5m])",
    "sum_over_time(room_temperature_celsius[3m]) / count_over_time(room_temperature_celsius[3m])",
    "stddev_over_time(process_resident_memory_bytes[10m])",
    "quantile_over_time(0.9, room_temperature_celsius[10m])",
    "last_over_time(process_resident_memory_bytes[10m])",
    "present_over_time(process_resident_memory_bytes[2m])",
    'absent(nonexistent{job="x"})',
    "absent_over_time(process_resident_memory_bytes[1m])",
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[10m]))",
    "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])",
    "topk(3, rate(http_request_duration_seconds_sum[5m]))",
    # Integer counters tie often: Prometheus's heap order decides which series stay.
    "topk(3, rate(image_gallery_requests_total[5m]))",
    "bottomk(4, increase(image_gallery_requests_total[2m]))",
    "bottomk(2, process_resident_memory_bytes)",
    "quantile(0.75, rate(image_gallery_requests_total[5m]))",
    "count by (code) (image_gallery_requests_total)",
    "count_values(\"value\", room_temperature_celsius)",
    "stddev by (job) (process_resident_memory_bytes)",
    "stdvar(room_temperature_celsius)",
    "avg without (instance, route) (rate(image_gallery_requests_total[5m]))",
    "max by (instance) (rate(image_gallery_requests_total[5m])) > bool 1",
    "min(room_temperature_celsius) < 0",
    "group by (job) (up_nonexistent or room_temperature_celsius)",
    "room_temperature_celsius and on(room) room_temperature_celsius > 0",
    "room_temperature_celsius unless room_temperature_celsius > 20",
    "rate(image_gallery_requests_total[5m]) / on(instance) group_left sum by (instance) (rate(image_gallery_requests_total[5m]))",
    "sum by (instance, code) (rate(image_gallery_requests_total[5m])) / ignoring(code) group_left sum by (instance) (rate(image_gallery_requests_total[5m]))",
    "process_resident_memory_bytes offset 10m",
    "process_resident_memory_bytes - process_resident_memory_bytes offset 30m",
    # Windows never reach back to a series' first sample: 2.42 and 3.x extrapolate
    # differently there (3.x applies the zero-point clamp after the threshold test).
    "rate(image_gallery_requests_total[5m] offset 10m)",
    "process_resident_memory_bytes @ 1750003600",
    "max_over_time(rate(image_gallery_requests_total[5m])[30m:1m])",
    "avg_over_time(room_temperature_celsius[20m:2m] offset 5m)",
    'label_replace(room_temperature_celsius, "place", "room-$1", "room", "(.*)")',
    'label_join(process_resident_memory_bytes, "where", "/", "job", "instance")',
    "timestamp(room_temperature_celsius)",
    "clamp(room_temperature_celsius, 0, 20) + clamp_min(room_temperature_celsius, 1) * clamp_max(room_temperature_celsius, 2)",
    "abs(room_temperature_celsius) ^ 0.5 % 3",
    "ceil(room_temperature_celsius) + floor(room_temperature_celsius) - round(room_temperature_celsius, 0.5)",
    "exp(room_temperature_celsius / 10) + ln(abs(room_temperature_celsius) + 1) + log2(2) + log10(1000) + sqrt(4) + sgn(room_temperature_celsius)",
    "sin(room_temperature_celsius) + cos(room_temperature_celsius) + atan2(room_temperature_celsius, 2) * deg(pi())",
    "scalar(sum(room_temperature_celsius)) * 2",
    "vector(time()) - time()",
    "hour(vector(1750003600)) + minute() * 0 + day_of_week() + day_of_month() + month() + year() + days_in_month() + day_of_year()",
    "sort_desc(sum by (route) (image_gallery_requests_total))",
    "-room_temperature_celsius",
    "1 + 2 * 3 ^ 2 ^ 0.5",
    "count(count by (instance) (image_gallery_requests_total))",
]

INSTANT_OFFSETS_S = (3607.5, 5402.5, 7190.5)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPair]:
    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    tmp = tmp_path_factory.mktemp("diff")
    workload = write_workload(tmp / "data.om")
    with prometheus_and_collector(tmp, workload, prometheus=prometheus, promtool=promtool) as servers:
        yield servers


def api(base: str, path: str, **params: str) -> dict[str, Any]:
    status, _, body = http_get(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=60)
    payload: dict[str, Any] = json.loads(body)
    payload["_http_status"] = status
    return payload


def close(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= REL_TOL * max(abs(x), abs(y)) or abs(x - y) < 1e-12


def key(metric: dict[str, str]) -> str:
    return json.dumps(metric, sort_keys=True)


def assert_same(expected: dict[str, Any], actual: dict[str, Any], context: str) -> None:
    assert actual["status"] == expected["status"], f"{context}: {actual.get('error')} vs {expected.get('error')}"
    if expected["status"] != "success":
        return
    exp, act = expected["data"], actual["data"]
    assert act["resultType"] == exp["resultType"], context
    if exp["resultType"] in ("scalar", "string"):
        assert close(act["result"][1], exp["result"][1]), f"{context}: {act['result']} vs {exp['result']}"
        return
    field = "value" if exp["resultType"] == "vector" else "values"
    exp_series = {key(s["metric"]): s[field] for s in exp["result"]}
    act_series = {key(s["metric"]): s[field] for s in act["result"]}
    assert sorted(act_series) == sorted(exp_series), f"{context}: series differ"
    for name, exp_points in exp_series.items():
        act_points = act_series[name]
        if field == "value":
            exp_points, act_points = [exp_points], [act_points]
        assert [p[0] for p in act_points] == [p[0] for p in exp_points], f"{context} {name}: timestamps differ"
        for (t, ev), (_, av) in zip(exp_points, act_points, strict=True):
            assert close(av, ev), f"{context} {name} @{t}: ours {av} vs Prometheus {ev}"


@pytest.mark.parametrize("query", QUERIES)
def test_instant_queries_match_prometheus(pair: ServerPair, query: str) -> None:
    for offset in INSTANT_OFFSETS_S:
        t = f"{pair.workload.start_s + offset:.3f}"
        expected = api(pair.prometheus, "/api/v1/query", query=query, time=t)
        actual = api(pair.ours, "/api/v1/query", query=query, time=t)
        assert_same(expected, actual, f"{query} @ {t}")


@pytest.mark.parametrize("query", QUERIES)
def test_range_queries_match_prometheus(pair: ServerPair, query: str) -> None:
    end = pair.workload.start_s + 5407.5
    for span, step in ((600, "10"), (3600, "15")):
        params = {"query": query, "start": f"{end - span:.3f}", "end": f"{end:.3f}", "step": step}
        expected = api(pair.prometheus, "/api/v1/query_range", **params)
        actual = api(pair.ours, "/api/v1/query_range", **params)
        assert_same(expected, actual, f"{query} over {span}s step {step}")


@pytest.mark.parametrize(
    "query",
    ["sum(", "rate(room_temperature_celsius)", "foo{a=~\"(\"}", "a + on(x) group_left b + c[5m]",
     "image_gallery_requests_total + ignoring(code) image_gallery_requests_total"],
)
def test_errors_match_prometheus_error_types(pair: ServerPair, query: str) -> None:
    t = f"{pair.workload.start_s + 3607.5:.3f}"
    expected = api(pair.prometheus, "/api/v1/query", query=query, time=t)
    actual = api(pair.ours, "/api/v1/query", query=query, time=t)
    assert expected["status"] == actual["status"] == "error"
    assert actual["errorType"] == expected["errorType"], f"{actual['error']} vs {expected['error']}"
    assert actual["_http_status"] == expected["_http_status"]


# The hostile queries (issue 13): each must answer as Prometheus does,
# a value or the same 4xx error, never a 500.
HOSTILE = [
    "quantile_over_time(NaN, vector(1)[1m:1m])",
    "quantile_over_time(Inf, vector(1)[1m:1m])",
    "quantile_over_time(-Inf, room_temperature_celsius[5m])",
    "up[99999999999999999999y]",
    "up offset 9999999999999y",
    "room_temperature_celsius offset 292y",
    'count_values("1x", room_temperature_celsius)',
    'room_temperature_celsius{room=~"a{1001}"}',
    'room_temperature_celsius{room=~"(?=x)"}',
    'room_temperature_celsius{room=~"(a)\\1"}',
    'label_replace(room_temperature_celsius, "x", "$1", "room", "(?<n>a)")',
    'label_replace(label_replace(vector(1),"a","aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!","",""),"b","$1","a","(a+)+")',
    " or ".join(["room_temperature_celsius"] * 3000),
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: q[:60])
def test_hostile_queries_answer_as_prometheus(pair: ServerPair, query: str) -> None:
    t = f"{pair.workload.start_s + 3607.5:.3f}"
    expected = api(pair.prometheus, "/api/v1/query", query=query, time=t, timeout="5s")
    actual = api(pair.ours, "/api/v1/query", query=query, time=t, timeout="5s")
    assert actual["_http_status"] == expected["_http_status"], f"{actual.get('error')} vs {expected.get('error')}"
    assert actual.get("errorType") == expected.get("errorType")
    assert_same(expected, actual, query[:60])


def test_series_labels_and_values_endpoints_match(pair: ServerPair) -> None:
    start, end = f"{pair.workload.start_s:.0f}", f"{pair.workload.end_s:.0f}"
    for path, params in (
        ("/api/v1/series", {"match[]": 'image_gallery_requests_total{code="500"}', "start": start, "end": end}),
        ("/api/v1/labels", {"start": start, "end": end}),
        ("/api/v1/label/route/values", {"start": start, "end": end}),
        ("/api/v1/label/__name__/values", {}),
    ):
        expected = api(pair.prometheus, path, **params)
        actual = api(pair.ours, path, **params)
        assert actual["status"] == "success", actual
        data = actual["data"]
        assert sorted(map(str, data)) == sorted(map(str, expected["data"])), path


def test_promtool_query_works_against_the_collector(pair: ServerPair) -> None:
    promtool = require_tool("promtool", "prometheus")
    t = f"{pair.workload.start_s + 3607.5:.3f}"
    out = subprocess.run(
        [promtool, "query", "instant", "--time", t, pair.ours, 'sum(room_temperature_celsius) by (room)'],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    assert '{room="attic"} =>' in out and '{room="cellar"} =>' in out
    out = subprocess.run(
        [promtool, "query", "range", "--start", t, "--end", f"{float(t) + 60:.3f}", "--step", "15s",
         pair.ours, "room_temperature_celsius"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    assert out.count("@[") >= 2 * 4
    start, end = f"{pair.workload.start_s:.0f}", f"{pair.workload.end_s:.0f}"
    out = subprocess.run(
        [promtool, "query", "labels", "--start", start, "--end", end, pair.ours, "room"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    assert out.split() == ["attic", "cellar"]


def test_prometheus_api_client_works_against_the_collector(pair: ServerPair) -> None:
    from datetime import datetime, timezone

    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=pair.ours, disable_ssl=True)
    assert "room_temperature_celsius" in client.all_metrics()
    t = datetime.fromtimestamp(pair.workload.start_s + 3607.5, tz=timezone.utc)
    result = client.custom_query("room_temperature_celsius", params={"time": t.timestamp()})
    assert {r["metric"]["room"] for r in result} == {"attic", "cellar"}
    ranged = client.custom_query_range(
        "room_temperature_celsius", start_time=t, end_time=datetime.fromtimestamp(t.timestamp() + 300, tz=timezone.utc), step="60"
    )
    assert all(len(r["values"]) == 6 for r in ranged)
    assert client.get_label_values("job") == ["gallery", "sensors"]
