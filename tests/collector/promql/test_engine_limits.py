"""Queries that cannot hurt the server: the issue's hostile queries through the
HTTP API handler with the real engine, each answering as Prometheus 2.42 does
(a value or a 4xx error, never a 500), and the sample limit and timeout
enforced while data is loaded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metricslib.collector.model import make_labels
from metricslib.collector.promql import engine as engine_module
from metricslib.collector.promql.engine import Engine
from metricslib.collector.promql.parser.parse import parse_matchers
from metricslib.collector.web.api.v1 import PrometheusAPI, Request
from tests.collector.promql.memstore import MemoryQuerier

NOW_S = 3600


def _querier(series: int = 3) -> MemoryQuerier:
    q = MemoryQuerier()
    for i in range(series):
        q.add_series(
            make_labels({"__name__": "up", "job": "a", "instance": f"i{i}"}),
            ((t, 1.0) for t in range(0, NOW_S * 1000 + 1, 15_000)),
        )
    return q


def make_api(querier: MemoryQuerier | None = None, **engine_kw: Any) -> PrometheusAPI:
    q = querier if querier is not None else _querier()

    def engine(timeout_ms: int | None) -> Engine:
        kw = dict(engine_kw)
        if timeout_ms is not None:
            kw["timeout_s"] = min(kw.get("timeout_s", 120.0), timeout_ms / 1000)
        return Engine(q, **kw)

    return PrometheusAPI(engine_factory=engine, querier_factory=lambda: q, parse_selector=parse_matchers,
                         clock=lambda: NOW_S)  # fmt: skip


def query(api: PrometheusAPI, path: str = "/api/v1/query", **params: str) -> tuple[int, dict[str, Any]]:
    params.setdefault("time", str(NOW_S))
    resp = api.handle(Request("GET", path, {k: [v] for k, v in params.items()}))
    return resp.status, json.loads(resp.body)


@pytest.mark.parametrize(("q", "value"), [("NaN", "NaN"), ("Inf", "+Inf"), ("-Inf", "-Inf"), ("2", "+Inf")])
def test_quantile_over_time_of_nan_and_inf_is_a_value(q: str, value: str) -> None:
    # Was an IndexError (500) in the vectorised quantile.
    status, body = query(make_api(), query=f"quantile_over_time({q}, vector(1)[1m:1m])")
    assert status == 200
    assert body["data"]["result"] == [{"metric": {}, "value": [NOW_S, value]}]
    status, body = query(make_api(), query=f"quantile_over_time({q}, up[5m])")
    assert status == 200 and {s["value"][1] for s in body["data"]["result"]} == {value}


@pytest.mark.parametrize(
    ("expr", "error"),
    [("up[99999999999999999999y]", "1:4: parse error: duration out of range"),
     ("up offset 9999999999999y", "1:11: parse error: duration out of range"),
     ('up{job=~"a{1001}"}', "1:4: parse error: error parsing regexp: invalid repeat count: `{1001}`"),
     ('up{job=~"(?=x)"}', "1:4: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`")],
)  # fmt: skip
def test_out_of_range_and_bad_regex_are_bad_data(expr: str, error: str) -> None:
    status, body = query(make_api(), query=expr)
    assert (status, body["errorType"]) == (400, "bad_data")
    assert body["error"] == error


def test_count_values_needs_a_classic_label_name() -> None:
    status, body = query(make_api(), query='count_values("1x", up)')
    assert (status, body["errorType"], body["error"]) == (422, "execution", 'invalid label name "1x"')
    status, body = query(make_api(), query='count_values("x1", up)')
    assert status == 200 and body["data"]["result"] == [{"metric": {"x1": "1"}, "value": [NOW_S, "3"]}]


def test_a_flat_chain_of_3000_or_terms_evaluates() -> None:
    status, body = query(make_api(), query=" or ".join(["up"] * 3000))
    assert status == 200 and len(body["data"]["result"]) == 3
    status, body = query(make_api(), query=" + ".join(["up"] * 3000))
    assert status == 200 and {s["value"][1] for s in body["data"]["result"]} == {"3000"}


def test_regex_bomb_answers_within_its_timeout() -> None:
    # The bomb: 32 s under Python's re (each "a" doubles it), immediate under RE2.
    bomb = 'label_replace(label_replace(vector(1),"a","{a}!","",""),"b","$1","a","(a+)+")'.replace("{a}", "a" * 60)
    status, body = query(make_api(), query=bomb, timeout="1s")
    assert status == 200
    assert body["data"]["result"] == [{"metric": {"a": "a" * 60 + "!"}, "value": [NOW_S, "1"]}]


CHUNKED_QUERIES = [
    "up", "rate(up[5m])", "max_over_time(up[10m:7s])", "quantile_over_time(0.5, up[5m])",
    "sum(rate(up[1m]))", 'label_replace(up, "x", "$1", "instance", "i(.*)")', "absent_over_time(nope[5m])",
    "up[2m]", "vector(1)[3m:10s]", "count_over_time(up[1m:1s])", "up offset 1m or up",
]  # fmt: skip


@pytest.mark.parametrize("expr", CHUNKED_QUERIES)
def test_evaluating_in_slices_gives_the_same_answer(expr: str, monkeypatch: pytest.MonkeyPatch) -> None:
    q = _querier(series=5)
    whole_api = make_api(q)
    params = [{"query": expr}, {"query": expr, "time": "1800"}]
    if not expr.endswith(("]", "s]")):
        params.append({"query": expr, "start": "1000", "end": "2000", "step": "7"})
    whole = [query(whole_api, "/api/v1/query_range" if "step" in p else "/api/v1/query", **p) for p in params]
    monkeypatch.setattr(engine_module, "CELLS_PER_CHUNK", 5)
    monkeypatch.setattr(engine_module, "SUBQUERY_FIRST_SLICE", 3)
    monkeypatch.setattr(engine_module, "SUBQUERY_MAX_SLICE", 7)
    sliced = [query(make_api(q), "/api/v1/query_range" if "step" in p else "/api/v1/query", **p) for p in params]
    assert sliced == whole
    assert all(status == 200 for status, _ in whole)


def test_sample_limit_stops_a_selector_before_the_whole_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # 200 series x 601 steps; the limit is passed within the first few slices of
    # series, and the rest are never resolved.
    resolved: list[int] = []
    real = engine_module._Evaluator._resolve_rows

    def spy(self: Any, batch: Any, shifted: Any, ends: Any, lo: int, hi: int, sample_times: bool) -> Any:
        resolved.append(hi - lo)
        return real(self, batch, shifted, ends, lo, hi, sample_times)

    monkeypatch.setattr(engine_module._Evaluator, "_resolve_rows", spy)
    monkeypatch.setattr(engine_module, "CELLS_PER_CHUNK", 6010)  # 10 series a slice
    api = make_api(_querier(series=200), max_samples=20_000)
    status, body = query(api, "/api/v1/query_range", query="up", start="2400", end="3000", step="1")
    assert (status, body["errorType"]) == (422, "execution")
    assert body["error"] == "query processing would load too many samples into memory in query execution"
    assert sum(resolved) <= 40 < 200


@pytest.mark.parametrize(
    "expr", ["vector(1)[1d:1s]", "max_over_time(up[1h:100ms])", "rate(up[5m])"]
)  # fmt: skip
def test_subquery_points_and_function_outputs_count(expr: str) -> None:
    # Points a subquery keeps, and a range function's output, count against the
    # limit as Prometheus counts them (vector(1)[1y:1s] counted nothing before).
    api = make_api(_querier(series=50), max_samples=20_000)
    if expr.startswith("rate"):
        status, body = query(api, "/api/v1/query_range", query=expr, start="0", end="3600", step="5")
    else:
        status, body = query(api, query=expr)
    assert (status, body.get("errorType")) == (422, "execution"), body


def test_timeout_interrupts_a_long_subquery(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake clock that advances one second per reading: the deadline is read
    # between slices, so the 1 s timeout fires after a handful of them.
    clock = iter(range(10**6))
    monkeypatch.setattr(engine_module.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(engine_module, "SUBQUERY_MAX_SLICE", 1000)
    status, body = query(make_api(), query="max_over_time(vector(1)[1d:1s])", timeout="5s")
    assert (status, body["errorType"]) == (503, "timeout")
    assert next(clock) < 50
