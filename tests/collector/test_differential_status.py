"""Differential test of the status and helper endpoints: a real Prometheus 2.42 and our
collector scrape the same SDK-instrumented target, then every endpoint the UI's
status pages and Grafana read is asked of both.

Each answer must have the same HTTP status and the same JSON shape (keys and
value types, recursively); where the two must agree on values they are
compared too (series counts and top lists of ``/api/v1/status/tsdb``,
``format_query``'s text, the target metadata, error types and messages).
"""

from __future__ import annotations

import json
import textwrap
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.collector.test_differential import QUERIES
from tests.helpers import PYTHON, free_port, http_get, require_tool, running

pytestmark = pytest.mark.integration

APP = textwrap.dedent(
    """
    import sys, time
    from metricslib import Counter, Gauge, Histogram, Registry
    from metricslib.serve import start_http_server
    registry = Registry()
    requests = Counter("shop_requests", "Requests served.", ["code", "route"], registry=registry)
    memory = Gauge("shop_memory_bytes", "Memory in use.", registry=registry)
    latency = Histogram("shop_latency_seconds", "Latency.", buckets=(0.1, 1.0), registry=registry)
    for code in ("200", "404", "500"):
        for route in ("/", "/cart"):
            requests.labels(code, route).inc()
    start_http_server(int(sys.argv[1]), registry=registry)
    while True:
        memory.set(time.time() % 1000)
        latency.observe(0.5)
        time.sleep(0.2)
    """
)

# format_query must give Prometheus's text for these, besides the differential test's queries.
FORMAT_QUERIES = [
    *QUERIES,
    "sum(rate(x[5m]))by(a)",
    "  x  +  on(a,b)  group_left(c)  y",
    "x offset -5m",
    'x @ start() {a!~"b"} or {__name__="y"}',
    "max_over_time(x[1h:])",
    "-(1 + 2) ^ -3 ^ 4",
    "count_values without() (\"v\", x)",
    "x[1h30m]",
    "0x1F + .5e3 - Inf",
    "-x",
    "-1 * 1e6 + 123456 + 0.00001 + 0.0001 - 1e21",
    "x @ 1750003600.5 offset 1w",
    "x[90d] offset 14d",
    'x{b="1", a=~"2", c!="\\"\n"}',
    "a / ignoring () group_left b",
    "a / ignoring(path) group_left b",  # 2.42 writes "group_left ()" for an empty label list
    "a * on(c) group_right b",
    "a + on () b",
    "a > bool on (c) group_right (d, e) b",
    # longer than 100 characters: split node by node
    "topk(5, sum by (instance, job, route, code) (rate(http_requests_total{job=\"api\", code=~\"5..\"}[5m])))",
    "histogram_quantile(0.99, sum by (le, instance) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])))",
    "-(sum by (instance) (rate(http_requests_total{job=\"api\"}[5m])) / sum by (instance) (rate(http_requests_total[5m])))",
    "max_over_time((sum by (instance) (rate(http_requests_total{job=\"api\"}[5m])) + sum by (instance) (up))[1h:5m] @ end())",
    "count_values without (instance) (\"value\", label_replace(up{job=\"prometheus\"}, \"dst\", \"$1\", \"instance\", \"(.*):.*\"))",
    "label_join(up, \"foo\", \",\", \"instance\", \"job\", \"a_very_long_label_name_here\", \"another_rather_long_name\")",
]


@dataclass(frozen=True)
class Pair:
    prometheus: str
    ours: str


def _wait_scraped(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = api_json(base, "/api/v1/query", query="scrape_series_added and up == 1")[1]
        if data.get("data", {}).get("result"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{base} did not scrape the target within {timeout}s")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    prometheus = require_tool("prometheus", "prometheus")
    tmp = tmp_path_factory.mktemp("status")
    (tmp / "app.py").write_text(APP)
    app_port, prom_port, our_port = free_port(), free_port(), free_port()
    (tmp / "prometheus.yml").write_text(textwrap.dedent(f"""
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: shop
            static_configs:
              - targets: ["127.0.0.1:{app_port}"]
        """))
    prom, ours = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{our_port}"
    with running([PYTHON, str(tmp / "app.py"), str(app_port)], ready_url=f"http://127.0.0.1:{app_port}/metrics"), \
            running([prometheus, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'prom'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"], ready_url=f"{prom}/-/ready", timeout=60), \
            running([PYTHON, "-m", "metricslib", "collector", "--config", str(tmp / "prometheus.yml"),
                     "--data-dir", str(tmp / "ours"), "--listen", f"127.0.0.1:{our_port}"],
                    ready_url=f"{ours}/-/ready", timeout=60):
        _wait_scraped(prom)
        _wait_scraped(ours)
        time.sleep(2)  # a few scrapes each
        yield Pair(prom, ours)


def api_json(base: str, path: str, **params: str) -> tuple[int, Any]:
    status, _, body = http_get(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=30)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def shape(value: Any) -> Any:
    """Keys and value types, recursively; JSON numbers are one type (Go writes 0.0 as 0)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def both(pair: Pair, path: str, **params: str) -> tuple[Any, Any]:
    """Both answers after checking that their status codes and shapes agree."""
    (ps, prom), (os_, ours) = api_json(pair.prometheus, path, **params), api_json(pair.ours, path, **params)
    assert ps == os_, f"{path} {params}: Prometheus {ps} {prom}, ours {os_} {ours}"
    assert shape(ours) == shape(prom), f"{path} {params}:\nPrometheus {prom}\nours       {ours}"
    return prom, ours


def same_top_list(prom: list[dict[str, Any]], ours: list[dict[str, Any]], what: str) -> None:
    """Equal counts in order; equal names except among ties with the last (cut-off) count,
    where Prometheus's heap order and our name order may keep different ones."""
    assert [e["value"] for e in ours] == [e["value"] for e in prom], what
    cut = prom[-1]["value"] if len(prom) == 10 else -1
    assert {e["name"] for e in ours if e["value"] != cut} == {e["name"] for e in prom if e["value"] != cut}, what


def test_status_tsdb_agrees_on_head_series_and_top_lists(pair: Pair) -> None:
    prom, ours = both(pair, "/api/v1/status/tsdb")
    p, o = prom["data"], ours["data"]
    for key in ("numSeries", "numLabelPairs", "chunkCount"):
        assert o["headStats"][key] == p["headStats"][key], (key, p["headStats"], o["headStats"])
    for key in ("seriesCountByMetricName", "labelValueCountByLabelName", "memoryInBytesByLabelName",
                "seriesCountByLabelValuePair"):
        same_top_list(p[key], o[key], key)
    assert o["headStats"]["minTime"] <= o["headStats"]["maxTime"]


def test_status_tsdb_limit(pair: Pair) -> None:
    # 2.42 ignores limit (always 10); later releases and we take it.
    status, ours = api_json(pair.ours, "/api/v1/status/tsdb", limit="2")
    assert status == 200 and all(len(ours["data"][k]) == 2 for k in ours["data"] if k != "headStats")
    status, ours = api_json(pair.ours, "/api/v1/status/tsdb", limit="0")
    assert (status, ours["errorType"]) == (400, "bad_data")


def test_runtimeinfo_has_prometheus_fields_and_agrees_where_it_must(pair: Pair) -> None:
    (ps, prom), (os_, ours) = (api_json(pair.prometheus, "/api/v1/status/runtimeinfo"),
                               api_json(pair.ours, "/api/v1/status/runtimeinfo"))
    assert ps == os_ == 200
    # GOMEMLIMIT came in a later Prometheus release; the rest is 2.42's shape.
    assert shape({k: v for k, v in ours["data"].items() if k != "GOMEMLIMIT"}) == shape(prom["data"])
    assert isinstance(ours["data"]["GOMEMLIMIT"], int)
    for key in ("reloadConfigSuccess", "corruptionCount", "storageRetention"):
        assert ours["data"][key] == prom["data"][key], key
    for key in ("startTime", "lastConfigTime"):
        assert ours["data"][key].endswith("Z") and ours["data"][key][:4] == prom["data"][key][:4]


def test_targets_metadata_agrees(pair: Pair) -> None:
    prom, ours = both(pair, "/api/v1/targets/metadata")

    def entries(body: dict[str, Any]) -> set[str]:
        return {json.dumps(e, sort_keys=True) for e in body["data"]}

    assert entries(ours) == entries(prom)
    for params in ({"metric": "shop_memory_bytes"}, {"match_target": '{job="shop"}'},
                   {"match_target": '{job="other"}'}, {"metric": "nope"}, {"limit": "0"}):
        prom, ours = both(pair, "/api/v1/targets/metadata", **params)
        assert entries(ours) == entries(prom), params
    for params in ({"limit": "x"}, {"match_target": "bad{"}):
        prom, ours = both(pair, "/api/v1/targets/metadata", **params)
        assert (ours["errorType"], ours["error"]) == (prom["errorType"], prom["error"]), params


@pytest.mark.parametrize("query", FORMAT_QUERIES)
def test_format_query_matches_prometheus(pair: Pair, query: str) -> None:
    prom, ours = both(pair, "/api/v1/format_query", query=query)
    assert ours == prom


@pytest.mark.parametrize("query", ["", "1+", "sum(", 'x{a="b}'])
def test_format_query_errors_match(pair: Pair, query: str) -> None:
    prom, ours = both(pair, "/api/v1/format_query", query=query)
    assert ours["errorType"] == prom["errorType"] == "bad_data"
    assert ours["error"].split(":")[0] == prom["error"].split(":")[0]


def test_parse_query_is_prometheus_3_only(pair: Pair) -> None:
    assert api_json(pair.prometheus, "/api/v1/parse_query", query="up")[0] == 404  # 2.42 has none
    status, ours = api_json(pair.ours, "/api/v1/parse_query", query="up")
    assert status == 200 and ours["data"]["type"] == "vectorSelector"


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/query", {"query": "up", "stats": "all"}),
    ("/api/v1/query", {"query": "shop_memory_bytes", "stats": "1"}),
    ("/api/v1/query_range", {"query": "rate(shop_requests_total[5s])", "stats": "all", "step": "1"}),
    ("/api/v1/query_range", {"query": "up", "stats": "all", "step": "1"}),
])
def test_stats_shape_matches(pair: Pair, path: str, params: dict[str, str]) -> None:
    if path.endswith("range"):
        now = time.time()
        params = {**params, "start": f"{now - 2:.3f}", "end": f"{now:.3f}"}
    else:
        params = {**params, "time": f"{time.time():.3f}"}
    prom, ours = both(pair, path, **params)
    assert shape(ours["data"]["stats"]) == shape(prom["data"]["stats"])
    if "[" not in params["query"]:
        # Selectors count one sample per series and step in both. Range selectors differ:
        # Prometheus counts a sample once per step whose window holds it, we count it once.
        assert ours["data"]["stats"]["samples"] == prom["data"]["stats"]["samples"]


def test_query_exemplars_without_query_is_bad_data(pair: Pair) -> None:
    prom, ours = both(pair, "/api/v1/query_exemplars")
    assert (ours["errorType"], ours["error"]) == (prom["errorType"], prom["error"])


def test_federate_without_match_is_empty(pair: Pair) -> None:
    answers = [http_get(f"{base}/federate") for base in (pair.prometheus, pair.ours)]
    assert [(status, body) for status, _, body in answers] == [(200, b""), (200, b"")]


@pytest.mark.parametrize("path", ["/api/v1/status/buildinfo", "/api/v1/targets", "/api/v1/alertmanagers"])
def test_existing_status_endpoints_have_prometheus_shape(pair: Pair, path: str) -> None:
    both(pair, path)


def test_flags_are_prometheus_flag_names(pair: Pair) -> None:
    (ps, prom), (os_, ours) = (api_json(pair.prometheus, "/api/v1/status/flags"),
                               api_json(pair.ours, "/api/v1/status/flags"))
    assert ps == os_ == 200
    assert all(isinstance(v, str) for v in ours["data"].values())
    # Every flag Prometheus also has under its name; ours alone are the documented extras.
    ours_only = {"flush-interval"}
    assert set(ours["data"]) - ours_only <= set(prom["data"]), set(ours["data"]) - set(prom["data"])
    assert ours_only <= set(ours["data"])
