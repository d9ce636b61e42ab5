"""topk/bottomk tie-breaking: Prometheus's heap, replayed, and checked against a real Prometheus."""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.promql.aggregations import aggregate
from metricslib.collector.promql.topk import go_heap_k, go_sorted_best_first, k_best_columns
from metricslib.collector.promql.values import Block
from tests.collector.workload import START_S, ServerPair, Workload, prometheus_and_collector
from tests.helpers import http_get, require_tool

NAN = math.nan


def test_heap_keeps_a_later_tie_when_the_heap_shape_says_so() -> None:
    # topk(3) over [5, 1, 1, 1, 5], derived by hand from Go's container/heap:
    # push 0 -> [0]; push 1 (1 < 5 moves up) -> [1, 0]; push 2 -> [1, 0, 2];
    # 3: root value 1 is not < 1, skipped; 4: 1 < 5, so pop the root (the last
    # element, 2, takes its place and stays) and push 4: heap [2, 0, 4].
    assert go_heap_k("topk", [5, 1, 1, 1, 5], 3) == [2, 0, 4]
    # A stable "first among equals" would have kept index 1 instead of 2.
    # Instant output: Go's insertion sort of the heap, best first.
    assert go_sorted_best_first("topk", [5, 1, 1, 1, 5], [2, 0, 4]) == [0, 4, 2]


def test_bottomk_mirror_and_nan_is_evicted_first() -> None:
    assert go_heap_k("bottomk", [1, 5, 5, 5, 1], 3) == [2, 0, 4]
    # NaN sits at the root and any number replaces it; NaN never replaces a number.
    assert sorted(go_heap_k("topk", [NAN, 1, NAN, 2], 2)) == [1, 3]
    # bottomk(2) over [NaN, 7, NaN]: [0], push 1 -> [0, 1]; 2 enters because the root is
    # NaN (even though 2 is NaN too): pop 0, push 2, which rises above 7: [2, 1].
    assert go_heap_k("bottomk", [NAN, 7, NAN], 2) == [2, 1]
    assert go_heap_k("topk", [1, 2], 0) == []


def test_equal_values_survive_by_heap_position() -> None:
    # All equal: nothing ever replaces the root, so the first k stay.
    assert go_heap_k("topk", [1, 1, 1, 1], 2) == [0, 1]
    # bottomk(3) over [2, 1, 2, 2, 1, 2]: heap [0, 1, 2] after three pushes (no moves);
    # 3 does not beat root 2; 4 (1 < 2) pops root 0 (2 moves to the root and stays)
    # and is pushed: [2, 1, 4]; 5 does not beat root 2. Index 2 survives, not 0.
    assert go_heap_k("bottomk", [2, 1, 2, 2, 1, 2], 3) == [2, 1, 4]


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=20, unique=True), st.integers(1, 25))
def test_without_ties_the_heap_keeps_the_k_best(values: list[float], k: int) -> None:
    # -0.0 and 0.0 are equal: unique=True already keeps only one of them.
    expected = sorted(range(len(values)), key=lambda i: -values[i])[:k]
    assert sorted(go_heap_k("topk", values, k)) == sorted(expected)
    assert [values[i] for i in go_sorted_best_first("topk", values, go_heap_k("topk", values, k))] == sorted(
        (values[i] for i in expected), reverse=True
    )


@given(
    st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.0, NAN, None]), min_size=3, max_size=3), min_size=1, max_size=8),
    st.integers(0, 4),
    st.sampled_from(["topk", "bottomk"]),
)
def test_vectorised_columns_agree_with_the_heap(rows: list[list[float | None]], k: int, op: str) -> None:
    present = np.array([[v is not None for v in r] for r in rows])
    vals = np.array([[0.0 if v is None else v for v in r] for r in rows])
    keep = k_best_columns(op, vals, present, np.full(3, k, dtype=np.int64))
    for col in range(3):
        live = np.flatnonzero(present[:, col])
        chosen = {int(live[i]) for i in go_heap_k(op, vals[live, col].tolist(), k)}
        assert set(np.flatnonzero(keep[:, col]).tolist()) == chosen


def test_instant_topk_lists_group_by_group_best_first() -> None:
    def lbl(g: str, s: str) -> tuple[tuple[str, str], ...]:
        return (("g", g), ("s", s))

    labels = [lbl("b", "0"), lbl("a", "1"), lbl("b", "2"), lbl("a", "3"), lbl("b", "4"), lbl("a", "5")]
    values = np.array([[5.0], [1.0], [1.0], [3.0], [5.0], [3.0]])
    block = Block(labels, values, np.ones_like(values, dtype=bool), [False] * 6)
    out = aggregate("topk", block, ("g",), False, np.array([2.0]))
    # Group b comes first (its first series is first). b: [0]; push 2 (1) rises: [2, 0];
    # 4 (5) beats root 2: pop leaves [0], push 4: [0, 4]; the insertion sort keeps equal
    # values in heap order. a: [1], push 3: [1, 3]; 5 (3) beats root 1: pop, push: [3, 5].
    assert out.labels == [lbl("b", "0"), lbl("b", "4"), lbl("a", "3"), lbl("a", "5")]


# --- against a real Prometheus -------------------------------------------------------------

# Values per step (columns) for series s0..s5 of tie_gauge, chosen so that the
# heap keeps a later tie, everything ties, NaNs compete, and groups differ.
PATTERNS = [
    [5, 1, 1, 1, 5, 0],
    [1, 1, 1, 1, 1, 1],
    [2, 1, 2, 2, 1, 2],
    [NAN, 1, NAN, 1, 3, 1],
    [1, 5, 5, 5, 1, 5],
    [0, 0, 7, 0, 0, 7],
]
STEP_S = 15
TIE_QUERIES = [
    "topk(3, tie_gauge)",
    "bottomk(3, tie_gauge)",
    "topk(2, tie_gauge)",
    "bottomk(2, tie_gauge)",
    "topk(1, tie_gauge)",
    "topk(4, tie_gauge)",
    "topk by (g) (2, tie_gauge)",
    "bottomk by (g) (1, tie_gauge)",
]


def _write_ties(path: Path) -> Workload:
    lines = ["# TYPE tie_gauge gauge"]
    for s in range(6):
        for step, pattern in enumerate(PATTERNS):
            value = "NaN" if math.isnan(pattern[s]) else repr(float(pattern[s]))
            lines.append(f'tie_gauge{{g="{"ab"[s % 2]}",s="{s}"}} {value} {START_S + step * STEP_S}.000')
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")
    end = START_S + (len(PATTERNS) - 1) * STEP_S
    return Workload(path, START_S, end, STEP_S, 6 * len(PATTERNS), 6)


@pytest.fixture(scope="module")
def tie_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPair]:
    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    tmp = tmp_path_factory.mktemp("ties")
    with prometheus_and_collector(tmp, _write_ties(tmp / "ties.om"), prometheus=prometheus, promtool=promtool) as pair:
        yield pair


def _api(base: str, path: str, **params: str) -> Any:
    status, _, body = http_get(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=30)
    assert status == 200, body
    return json.loads(body)["data"]


@pytest.mark.integration
@pytest.mark.parametrize("query", TIE_QUERIES)
def test_ties_match_prometheus_instant_and_range(tie_pair: ServerPair, query: str) -> None:
    for step in range(len(PATTERNS)):
        t = f"{START_S + step * STEP_S + 2.5:.3f}"
        expected = _api(tie_pair.prometheus, "/api/v1/query", query=query, time=t)
        actual = _api(tie_pair.ours, "/api/v1/query", query=query, time=t)
        assert actual == expected, f"{query} @ step {step}"  # order included
    params = {"query": query, "start": f"{START_S + 2.5:.3f}", "end": f"{START_S + 2.5 + 5 * STEP_S:.3f}", "step": "5"}
    expected = _api(tie_pair.prometheus, "/api/v1/query_range", **params)
    actual = _api(tie_pair.ours, "/api/v1/query_range", **params)
    assert actual == expected, query
