"""The engine end to end: parse, select through a Querier, evaluate, shape the result."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from metricslib.collector.model import STALE_NAN, Labels, Matcher, Series, make_labels
from metricslib.collector.promql.engine import Engine
from metricslib.collector.web.api.result_json import result_json
from metricslib.errors import (
    PromQLParseError,
    QueryExecutionError,
    QueryTimeoutError,
    TooManySamplesError,
)


class ListQuerier:
    """The smallest Querier: series held in memory, filtered like a real store."""

    def __init__(self) -> None:
        self.data: dict[Labels, tuple[list[int], list[float]]] = {}
        self.selects = 0

    def add(self, labels: dict[str, str], step_ms: int, values: Sequence[float | None]) -> None:
        ts, vs = self.data.setdefault(make_labels(labels), ([], []))
        for i, v in enumerate(values):
            if v is not None:
                ts.append(i * step_ms)
                vs.append(v)

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        self.selects += 1
        out = []
        for labels, (ts, vs) in sorted(self.data.items()):
            d = dict(labels)
            if all(m.matches(d.get(m.name, "")) for m in matchers):
                t = np.array(ts, dtype=np.int64)
                v = np.array(vs, dtype=np.float64)
                keep = (t >= mint_ms) & (t <= maxt_ms)
                if keep.any():
                    out.append(Series(labels, t[keep], v[keep]))
        return out

    def label_names(self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None,
                    maxt_ms: int | None = None) -> list[str]:
        return sorted({k for lbl in self.data for k, _ in lbl})

    def label_values(self, name: str, matchers: Sequence[Matcher] = (), mint_ms: int | None = None,
                     maxt_ms: int | None = None) -> list[str]:
        return sorted({v for lbl in self.data for k, v in lbl if k == name})


MIN = 60_000


@pytest.fixture
def q() -> ListQuerier:
    store = ListQuerier()
    store.add({"__name__": "req_total", "job": "api", "code": "200"}, MIN, [0, 60, 120, 180, 240, 300])
    store.add({"__name__": "req_total", "job": "api", "code": "500"}, MIN, [0, 6, 12, 18, 24, 30])
    store.add({"__name__": "temp", "room": "a"}, MIN, [20, 21, STALE_NAN, None, None, 25])
    return store


def vector(result_api: dict[str, object]) -> dict[tuple[tuple[str, str], ...], str]:
    assert result_api["resultType"] == "vector"
    rows = result_api["result"]
    assert isinstance(rows, list)
    return {tuple(sorted(r["metric"].items())): r["value"][1] for r in rows}


def test_instant_selector_uses_lookback_and_staleness(q: ListQuerier) -> None:
    engine = Engine(q)
    assert vector(engine.instant_query("temp", 1 * MIN).to_api()) == {
        (("__name__", "temp"), ("room", "a")): "21"
    }
    # A staleness marker at 2m hides the series at once, not 5 minutes later.
    assert vector(engine.instant_query("temp", 3 * MIN).to_api()) == {}
    # Lookback is 5 minutes and open on the left.
    assert vector(Engine(q, lookback_delta_ms=MIN).instant_query("req_total{code='200'}", 5 * MIN + 59_000).to_api())
    assert not vector(Engine(q, lookback_delta_ms=MIN).instant_query("req_total{code='200'}", 6 * MIN).to_api())


def test_sum_by_rate_and_name_dropping(q: ListQuerier) -> None:
    api = Engine(q).instant_query("sum by (job) (rate(req_total[2m]))", 5 * MIN).to_api()
    assert vector(api) == {(("job", "api"),): "1.1"}
    api = Engine(q).instant_query("rate(req_total[2m])", 5 * MIN).to_api()
    assert set(vector(api)) == {(("code", "200"), ("job", "api")), (("code", "500"), ("job", "api"))}


def test_range_query_returns_matrix_and_selects_each_series_once(q: ListQuerier) -> None:
    engine = Engine(q)
    res = engine.range_query("req_total{code='500'} * 2", 0, 5 * MIN, MIN)
    assert q.selects == 1
    api = res.to_api()
    assert api["resultType"] == "matrix"
    assert api["result"] == [
        {"metric": {"code": "500", "job": "api"},
         "values": [[0, "0"], [60, "12"], [120, "24"], [180, "36"], [240, "48"], [300, "60"]]}
    ]


def test_scalar_and_string_results(q: ListQuerier) -> None:
    engine = Engine(q)
    assert engine.instant_query("1 + 2 * 3", 1000).to_api() == {"resultType": "scalar", "result": [1, "7"]}
    assert engine.instant_query('"hello"', 1000).to_api() == {"resultType": "string", "result": [1, "hello"]}
    api = engine.range_query("time()", 0, 2 * MIN, MIN).to_api()
    assert api["result"] == [{"metric": {}, "values": [[0, "0"], [60, "60"], [120, "120"]]}]


def test_instant_range_selector_is_a_matrix_with_a_left_open_window(q: ListQuerier) -> None:
    api = Engine(q).instant_query("req_total{code='200'}[2m]", 3 * MIN).to_api()
    assert api["resultType"] == "matrix"
    assert api["result"][0]["values"] == [[120, "120"], [180, "180"]]


def test_range_query_rejects_range_vectors(q: ListQuerier) -> None:
    with pytest.raises(PromQLParseError, match="range vector"):
        Engine(q).range_query("req_total[5m]", 0, MIN, MIN)


def test_offset_and_at_modifiers(q: ListQuerier) -> None:
    engine = Engine(q)
    assert vector(engine.instant_query("req_total{code='200'} offset 2m", 5 * MIN).to_api()) == {
        (("__name__", "req_total"), ("code", "200"), ("job", "api")): "180"
    }
    assert vector(engine.instant_query("req_total{code='200'} @ 60", 5 * MIN).to_api()) == {
        (("__name__", "req_total"), ("code", "200"), ("job", "api")): "60"
    }
    res = engine.range_query("req_total{code='200'} @ end()", 0, 2 * MIN, MIN).to_api()
    assert [v for _, v in res["result"][0]["values"]] == ["120", "120", "120"]


def test_subquery_steps_are_aligned_to_absolute_multiples(q: ListQuerier) -> None:
    # Inner steps at 0s, 60s, 120s, ... whatever the outer time; window (t-3m, t].
    api = Engine(q).instant_query("count_over_time(req_total{code='200'}[3m:1m])", 5 * MIN + 30_000).to_api()
    assert list(vector(api).values()) == ["3"]


def test_duplicate_labelset_after_name_removal_is_an_error(q: ListQuerier) -> None:
    q.add({"__name__": "other_total", "job": "api", "code": "200"}, MIN, [1, 2])
    with pytest.raises(QueryExecutionError, match="vector cannot contain metrics with the same labelset"):
        Engine(q).instant_query("rate({job='api', code='200'}[5m])", MIN)


def test_many_to_many_matching_error(q: ListQuerier) -> None:
    with pytest.raises(QueryExecutionError, match=r"found duplicate series for the match group \{job=\"api\"\} on the right"):
        Engine(q).instant_query("req_total + on(job) req_total", MIN)
    with pytest.raises(QueryExecutionError, match="many-to-one matching must be explicit"):
        Engine(q).instant_query("req_total + on(job) sum by (job) (req_total)", MIN)


def test_too_many_samples(q: ListQuerier) -> None:
    with pytest.raises(TooManySamplesError, match="query processing would load too many samples"):
        Engine(q, max_samples=3).instant_query("req_total[10m]", 5 * MIN)


def test_timeout(q: ListQuerier) -> None:
    with pytest.raises(QueryTimeoutError, match="query timed out in"):
        Engine(q, timeout_s=-1).instant_query("req_total", 0)


def test_parse_errors_carry_position(q: ListQuerier) -> None:
    with pytest.raises(PromQLParseError) as info:
        Engine(q).instant_query("sum(", 0)
    assert info.value.error_type == "bad_data"


def test_nan_values_are_formatted(q: ListQuerier) -> None:
    api = Engine(q).instant_query("req_total{code='200'} / 0 - req_total{code='200'} / 0", 0).to_api()
    assert list(vector(api).values()) == ["NaN"]


def test_step_in_duration_expressions_uses_the_query_step(q: ListQuerier) -> None:
    api = Engine(q).range_query("count_over_time(req_total{code='200'}[step() * 2])", 2 * MIN, 4 * MIN, MIN)
    assert [v for _, v in api.to_api()["result"][0]["values"]] == ["2", "2", "2"]


def test_info_adds_data_labels_of_the_newest_info_series(q: ListQuerier) -> None:
    q.add({"__name__": "up", "job": "api", "instance": "a"}, MIN, [1, 1, 1])
    q.add({"__name__": "target_info", "job": "api", "instance": "a", "version": "1"}, MIN, [1, 1, None])
    q.add({"__name__": "target_info", "job": "api", "instance": "a", "version": "2"}, MIN, [None, None, 1])
    api = Engine(q).range_query("info(up)", 0, 2 * MIN, MIN).to_api()
    got = {r["metric"]["version"]: [t for t, _ in r["values"]] for r in api["result"]}
    assert got == {"1": [0, 60], "2": [120]}
    # A data-label matcher that cannot match "" drops samples without a matching info series.
    api = Engine(q).instant_query('info(up, {version=~"3"})', 0).to_api()
    assert api["result"] == []


def test_annotations_reach_the_result(q: ListQuerier) -> None:
    res = Engine(q).instant_query("quantile(2, req_total)", MIN)
    assert res.warnings == ["PromQL warning: quantile value should be between 0 and 1, got 2"]
    q.add({"__name__": "temp_c", "room": "x"}, MIN, [1, 2, 3])
    res = Engine(q).instant_query("rate(temp_c[5m])", 2 * MIN)
    assert res.infos and "might not be a counter" in res.infos[0]


def test_range_query_step_limits(q: ListQuerier) -> None:
    with pytest.raises(PromQLParseError, match="zero or negative query resolution step"):
        Engine(q).range_query("req_total", 0, MIN, 0)
    with pytest.raises(PromQLParseError, match="exceeded maximum resolution of 11,000 points"):
        Engine(q).range_query("req_total", 0, 11_001 * 1000, 1000)
    with pytest.raises(PromQLParseError, match="end timestamp must not be before start time"):
        Engine(q).range_query("req_total", MIN, 0, 1000)


# --- differential: the engine against a real Prometheus on the same data ---------------------

DIFF_QUERIES = [
    'image_gallery_requests_total{code="200"}',
    "rate(image_gallery_requests_total[5m])",
    "increase(image_gallery_requests_total[2m])",
    "irate(image_gallery_requests_total[1m])",
    "delta(room_temperature_celsius[10m])",
    "deriv(room_temperature_celsius[10m])",
    "predict_linear(room_temperature_celsius[10m], 600)",
    "sum by (code) (rate(image_gallery_requests_total[5m]))",
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[5m]))",
    "avg_over_time(process_resident_memory_bytes[10m])",
    "stddev_over_time(process_resident_memory_bytes[10m])",
    "quantile_over_time(0.9, process_resident_memory_bytes[10m])",
    "changes(room_temperature_celsius[10m])",
    "resets(image_gallery_requests_total[1h])",
    "topk(3, rate(image_gallery_requests_total[5m]))",
    "quantile(0.3, rate(image_gallery_requests_total[5m]))",
    "stddev by (route) (rate(image_gallery_requests_total[5m]))",
    'count_values("v", room_temperature_celsius)',
    'sum by (instance) (rate(image_gallery_requests_total{code="500"}[5m]))'
    " / on(instance) sum by (instance) (rate(image_gallery_requests_total[5m]))",
    "rate(image_gallery_requests_total[5m]) > bool 0.5",
    "rate(image_gallery_requests_total[5m]) * on(instance) group_left() (process_resident_memory_bytes / 1e6)",
    'max_over_time(rate(image_gallery_requests_total{code="404"}[2m])[10m:30s])',
    "avg_over_time(sum(rate(image_gallery_requests_total[1m]))[7m:])",
    "process_resident_memory_bytes offset 7m",
    'absent(nonexistent{job="x"})',
    'label_replace(room_temperature_celsius, "r", "$1-x", "room", "(.*)")',
    "timestamp(process_resident_memory_bytes)",
    "sum(process_resident_memory_bytes) without (instance)",
    "present_over_time(process_resident_memory_bytes[1m])",
    "round(room_temperature_celsius, 0.5)",
]


@pytest.fixture(scope="module")
def prometheus_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine, float]]:
    """The fleet workload in a real Prometheus (backfilled by promtool) and in our engine."""
    import shutil
    import subprocess

    from bench.bench_promql_engine import load_openmetrics
    from tests.collector.workload import EMPTY_CONFIG, write_workload
    from tests.helpers import free_port, require_tool, running

    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    tmp = tmp_path_factory.mktemp("diff")
    workload = write_workload(tmp / "data.om", duration_s=2 * 3600, instances=3)
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(workload.path), str(tmp / "prom")],
        check=True, capture_output=True, timeout=120,
    )
    (tmp / "prometheus.yml").write_text(EMPTY_CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        prometheus, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'prom'}",
        f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
    ]
    assert shutil.which(cmd[0])
    with running(cmd, ready_url=f"{base}/-/ready", timeout=60):
        # Half a scrape interval off the sample grid: no window edge meets a sample, so
        # Prometheus 2.42's closed windows and our Prometheus 3 left-open ones agree.
        yield base, Engine(load_openmetrics(workload.path)), workload.start_s + 2 * 3600 - 592.5


def _points(data: dict[str, Any]) -> dict[Labels, list[tuple[int, float]]]:
    out = {}
    for s in data["result"]:
        pts = s.get("values") or [s["value"]]
        out[tuple(sorted(s["metric"].items()))] = [(round(float(t) * 1000), float(v)) for t, v in pts]
    return out


@pytest.mark.integration
@pytest.mark.parametrize("query", DIFF_QUERIES)
def test_same_answers_as_prometheus(prometheus_pair: tuple[str, Engine, float], query: str) -> None:
    import json
    import urllib.parse

    from tests.helpers import http_get

    base, engine, end = prometheus_pair
    for path, params, ours in (
        ("/api/v1/query", {"query": query, "time": f"{end:.3f}"}, engine.instant_query(query, round(end * 1000))),
        (
            "/api/v1/query_range",
            {"query": query, "start": f"{end - 1800:.3f}", "end": f"{end:.3f}", "step": "30"},
            engine.range_query(query, round((end - 1800) * 1000), round(end * 1000), 30_000),
        ),
    ):
        status, _, body = http_get(f"{base}{path}?{urllib.parse.urlencode(params)}")
        assert status == 200
        theirs = _points(json.loads(body)["data"])
        mine = _points(ours.to_api())
        assert set(mine) == set(theirs), path
        for labels, points in theirs.items():
            got = mine[labels]
            assert [t for t, _ in got] == [t for t, _ in points], (path, labels)
            for (_, a), (_, b) in zip(got, points, strict=True):
                assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9), (path, labels)


def test_every_script_expression_evaluates_or_fails_with_a_query_error() -> None:
    """Robustness: each of the ~1,500 expressions in Prometheus's test scripts, over random
    data with NaN, ±Inf, staleness markers and odd `le` labels, as an instant and as a
    range query: it answers, or raises a QueryError (no crash, no numpy warning)."""
    import random
    import re

    from metricslib.errors import QueryError
    from tests.collector.promql.memstore import MemoryQuerier
    from tests.helpers import require_conformance

    folder = require_conformance("promql")
    exprs: set[str] = set()
    for path in sorted(folder.glob("*.test")):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*eval\w*\s+(?:instant at \S+|range from \S+ to \S+ step \S+)\s+(.*)", line)
            if m:
                exprs.add(m.group(1).strip())
    names = sorted({n for e in exprs for n in re.findall(r"\b([a-z_][a-z0-9_]*)(?=[{\[ )]|$)", e)})
    rnd = random.Random(7)
    store = MemoryQuerier()
    for name in names:
        for k in range(rnd.randint(1, 3)):
            labels = make_labels({"__name__": name, "job": rnd.choice("ab"), "instance": str(k),
                                  "le": rnd.choice(["0.1", "1", "+Inf", "", "x"])})
            t = 0
            for i in range(rnd.randint(0, 40)):
                t += rnd.randint(1, 60) * 1000
                store.add(labels, t, rnd.choice([rnd.uniform(-10, 100), float(i), math.nan, math.inf,
                                                 -math.inf, STALE_NAN, 0.0]))
    engine = Engine(store, timeout_s=10)
    for expr in sorted(exprs):
        try:
            engine.instant_query(expr, rnd.randint(0, 3000) * 1000).to_api()
        except QueryError:
            pass
        try:
            start = rnd.randint(0, 1000) * 1000
            engine.range_query(expr, start, start + rnd.randint(0, 2000) * 1000, rnd.choice([7, 15, 60]) * 1000).to_api()
        except QueryError:
            pass


def test_the_same_selection_twice_in_one_query_is_loaded_once(q: ListQuerier) -> None:
    engine = Engine(q)
    result = engine.instant_query('req_total{code="200"} / req_total{code="200"}', 5 * MIN)
    assert [s.values for s in result.series] == [[1.0]]
    assert q.selects == 1
    # A different window (offset) is a different selection; a new query selects again.
    engine.instant_query('req_total{code="200"} - req_total{code="200"} offset 1m', 5 * MIN)
    assert q.selects == 3


def test_parsed_queries_are_reused_and_errors_raised_every_time(q: ListQuerier) -> None:
    from metricslib.collector.promql.engine import _parse

    engine = Engine(q)
    before = _parse.cache_info().hits
    first = engine.range_query("sum(req_total)", 0, 5 * MIN, MIN)
    second = engine.range_query("sum(req_total)", 0, 5 * MIN, MIN)
    assert _parse.cache_info().hits == before + 1
    assert first.to_api() == second.to_api()
    for _ in range(2):
        with pytest.raises(PromQLParseError):
            engine.instant_query("sum(", 0)


@pytest.mark.parametrize(
    "query", ["req_total", "temp", "rate(req_total[2m])", "sum(req_total) > 100", "time()", "topk(1, req_total)"]
)
def test_api_json_of_engine_results_equals_to_api(q: ListQuerier, query: str) -> None:
    import json

    engine = Engine(q)
    for result in (engine.range_query(query, 0, 5 * MIN, 30_000), engine.instant_query(query, 4 * MIN)):
        assert json.loads(result_json(result)) == result.to_api()


def test_time_spans_too_wide_to_shift_into_int64_search_series_one_by_one() -> None:
    # Two series whose samples span ~8e18 ms: shifting each series by k * span, the
    # one-searchsorted layout, would overflow int64, so both paths fall back.
    q = ListQuerier()
    far = 4 * 10**18
    for i in ("1", "2"):
        q.data[make_labels({"__name__": "x", "i": i})] = ([-far, far], [1.0, 2.0 + int(i)])
    engine = Engine(q)
    step = far // 2
    plain = engine.range_query("x", -far, far, step)
    assert [(dict(s.labels)["i"], s.timestamps, list(s.values)) for s in plain.series] == [
        ("1", [-far, far], [1.0, 3.0]),
        ("2", [-far, far], [1.0, 4.0]),
    ]
    counted = engine.range_query("count_over_time(x[5m])", -far, far, step)
    assert [(s.timestamps, list(s.values)) for s in counted.series] == [([-far, far], [1.0, 1.0])] * 2
