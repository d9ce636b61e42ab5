"""``--query.max-samples`` against a real Prometheus 2.42 holding the same data.

Each query's peak (``stats=all``'s ``peakSamples``) must be Prometheus's, and
with the limit swept around the peaks both servers must answer or refuse the
same queries, refusing with the same status, errorType and text. Data on an
exact 15 s grid (and some series every 30 s or 45 s), queried at times on the
grid too, so windows start exactly on samples: 2.42's closed windows count them.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.bench_promql_engine import load_openmetrics
from metricslib.collector.web.api.v1 import PrometheusAPI
from tests.collector.promql.test_engine_limits import make_api, query
from tests.collector.workload import EMPTY_CONFIG
from tests.helpers import free_port, http_get, require_tool, running

pytestmark = pytest.mark.integration

START_S = 1_750_000_005  # a multiple of 15 s
HOUR_S = 3600
END_S = START_S + HOUR_S

CASES: list[tuple[str, dict[str, str]]] = [
    (q, p)
    for q in (
        "x_total",
        "rate(x_total[5m])",
        "sum by (job) (rate(x_total[5m]))",
        "x_total * 2 + x_total",
        "sum(x_total) / count(x_total)",
        "x_total - x_total offset 5m",
        "max_over_time(x_total[10m:1m])",
        "quantile_over_time(0.5, x_total[5m])",
        "count_over_time(rate(x_total[2m])[10m:30s])",
        "topk(3, x_total)",
        'label_replace(timestamp(x_total), "a", "$1", "i", "(.*)")',
        "absent(nope) or scalar(sum(x_total)) * x_total",
        'count_values("v", changes(x_total[3m]))',
        # Step-invariant parts are evaluated once and repeated.
        f"sum(rate(x_total[5m] @ {END_S - 600}))",
        f"x_total / on() group_left scalar(sum(x_total @ {END_S}))",
        "vector(1) or x_total",
        f"max_over_time(x_total @ {END_S - 300}[10m:1m])",
    )
    for p in (
        {"time": str(END_S)},
        {"time": f"{END_S - 7.5}"},
        {"start": str(END_S - 1800), "end": str(END_S), "step": "60"},
        {"start": str(END_S - 900), "end": str(END_S), "step": "15"},
    )
] + [
    ("x_total[5m]", {"time": str(END_S)}),
    ("x_total[5m]", {"time": f"{END_S - 7.5}"}),
    ("x_total[10m:1m]", {"time": str(END_S)}),
]


def write_data(path: Path) -> None:
    """30 counters in 3 jobs; series ``i`` is scraped every 15 s x (1 + i % 3)."""
    lines = ["# HELP x Requests.", "# TYPE x counter"]
    for i in range(30):
        every = 15 * (1 + i % 3)
        for k, t in enumerate(range(START_S, END_S + 1, every)):
            lines.append(f'x_total{{i="{i:02d}",job="j{i % 3}"}} {k * (i + 1)} {t}')
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, PrometheusAPI]:
    promtool = require_tool("promtool", "prometheus")
    tmp = tmp_path_factory.mktemp("peak")
    om = tmp / "data.om"
    write_data(om)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om), str(tmp / "prom")],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    (tmp / "prometheus.yml").write_text(EMPTY_CONFIG)
    return tmp, om, make_api(load_openmetrics(om))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def prometheus(data: tuple[Path, Path, PrometheusAPI]) -> Iterator[Any]:
    """A function starting a Prometheus 2.42 over the data with a given limit."""
    binary = require_tool("prometheus", "prometheus")
    tmp = data[0]

    def start(max_samples: int) -> Any:
        port = free_port()
        cmd = [
            binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'prom'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
            f"--query.max-samples={max_samples}",
        ]  # fmt: skip
        return running(cmd, ready_url=f"http://127.0.0.1:{port}/-/ready", timeout=60), f"http://127.0.0.1:{port}"

    yield start


def ask_prometheus(base: str, expr: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    path = "/api/v1/query_range" if "step" in params else "/api/v1/query"
    qs = urllib.parse.urlencode({"query": expr, "stats": "all", **params})
    status, _, body = http_get(f"{base}{path}?{qs}", timeout=60)
    return status, json.loads(body)


def ask_ours(api: PrometheusAPI, expr: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    path = "/api/v1/query_range" if "step" in params else "/api/v1/query"
    return query(api, path, query=expr, stats="all", **params)


def verdict(status: int, body: dict[str, Any]) -> tuple[int, str | None, str | None]:
    return status, body.get("errorType"), body.get("error")


@pytest.fixture(scope="module")
def peaks(prometheus: Any) -> dict[int, int]:
    """Prometheus's peak per case, under its default limit."""
    ctx, base = prometheus(50_000_000)
    with ctx:
        out = {}
        for k, (expr, params) in enumerate(CASES):
            status, body = ask_prometheus(base, expr, params)
            assert status == 200, body
            out[k] = body["data"]["stats"]["samples"]["peakSamples"]
        return out


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{q} {p}" for q, p in CASES])
def test_peak_is_prometheus_peak(data: tuple[Path, Path, PrometheusAPI], peaks: dict[int, int], case: int) -> None:
    expr, params = CASES[case]
    status, body = ask_ours(data[2], expr, params)
    assert status == 200, body
    assert body["data"]["stats"]["samples"]["peakSamples"] == peaks[case]


def test_same_answers_and_refusals_around_each_threshold(
    data: tuple[Path, Path, PrometheusAPI], prometheus: Any, peaks: dict[int, int]
) -> None:
    # Limits just below and at the peaks of a spread of cases: every case is
    # checked under each, answered by one server exactly when by the other.
    chosen = sorted({peaks[k] + d for k in (2, 6, 10, 25, 37, 50, len(CASES) - 1) for d in (-1, 0)})
    refused = answered = 0
    for limit in chosen:
        ctx, base = prometheus(limit)
        api = make_api(load_openmetrics(data[1]), max_samples=limit)  # type: ignore[arg-type]
        with ctx:
            for expr, params in CASES:
                theirs = verdict(*ask_prometheus(base, expr, params))
                ours = verdict(*ask_ours(api, expr, params))
                assert ours == theirs, (limit, expr, params)
                refused += theirs[0] != 200
                answered += theirs[0] == 200
    assert refused and answered
    assert verdict(*ask_ours(make_api(load_openmetrics(data[1]), max_samples=1), "x_total", {"time": str(END_S)})) == (  # type: ignore[arg-type]
        422, "execution", "query processing would load too many samples into memory in query execution")
