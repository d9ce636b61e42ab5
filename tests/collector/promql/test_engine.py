"""The engine end to end: parse, select through a Querier, evaluate, shape the result."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from metricslib.collector.model import STALE_NAN, Labels, Matcher, Series, make_labels
from metricslib.collector.promql.engine import Engine
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
