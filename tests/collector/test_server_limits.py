"""Query limits through the whole in-process server: samples loaded and time spent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metricslib.collector.model import make_labels
from metricslib.collector.server import CollectorServer, ServerOptions
from metricslib.collector.storage import open_storage
from metricslib.collector.web.api.v1 import Request


def make_server(tmp_path: Path, **options: float) -> CollectorServer:
    data = tmp_path / "data"
    store = open_storage(data, retention_ms=10**13)
    app = store.appender()
    for i in range(20):
        labels = make_labels({"__name__": "load", "i": str(i)})
        for t in range(0, 600_000, 15_000):
            app.append(labels, t, float(t))
    app.commit()
    store.close()
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs: []\n")
    return CollectorServer(ServerOptions(config_file=str(config), data_dir=str(data), retention_ms=10**13, **options))  # type: ignore[arg-type]


def ask(server: CollectorServer, **params: str) -> tuple[int, dict[str, object]]:
    response = server.routes.dispatch(Request("GET", "/api/v1/query_range", {k: [v] for k, v in params.items()}), "")
    return response.status, json.loads(response.body)


def test_max_samples_is_reported_as_prometheus_does(tmp_path: Path) -> None:
    server = make_server(tmp_path, query_max_samples=100)
    try:
        status, body = ask(server, query="sum(rate(load[5m]))", start="300", end="600", step="15")
        assert status == 422
        assert body["errorType"] == "execution"
        assert "too many samples" in str(body["error"])
        status, body = ask(server, query='load{i="1"}', start="300", end="600", step="60")
        assert status == 200, body
    finally:
        server.stop()


def test_query_timeout_is_reported_as_timeout(tmp_path: Path) -> None:
    server = make_server(tmp_path, query_timeout_s=1e-9)
    try:
        status, body = ask(server, query="sum(rate(load[5m]))", start="300", end="600", step="15")
        assert status == 503
        assert body["errorType"] == "timeout"
        assert "timed out" in str(body["error"])
    finally:
        server.stop()


def test_per_request_timeout_can_only_shorten_the_limit(tmp_path: Path) -> None:
    server = make_server(tmp_path, query_timeout_s=60)
    try:
        status, body = ask(server, query="sum(rate(load[5m]))", start="300", end="600", step="15", timeout="0.0001")
        assert (status, body["errorType"]) == (503, "timeout")
    finally:
        server.stop()


def test_experimental_functions_need_the_feature_flag_as_in_prometheus(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    try:
        status, body = ask(server, query='sort_by_label(load, "i")', start="300", end="600", step="60")
        assert (status, body["errorType"]) == (400, "bad_data")
        assert "sort_by_label" in str(body["error"])
    finally:
        server.stop()
    server = make_server(tmp_path / "on", experimental_functions=True)
    try:
        status, body = ask(server, query='sort_by_label(load, "i")', start="300", end="600", step="60")
        assert status == 200, body
    finally:
        server.stop()


def test_unknown_features_are_reported_not_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    from metricslib.cli import build_parser
    from metricslib.collector.server import _options_from_args

    args = build_parser().parse_args(
        ["collector", "--config", "p.yml", "--enable-feature", "promql-experimental-functions,exemplar-storage"]
    )
    options = _options_from_args(args)
    assert options.experimental_functions
    assert "ignoring unknown --enable-feature exemplar-storage" in capsys.readouterr().err


def test_queries_run_in_a_query_process_by_default_and_in_process_with_zero(tmp_path: Path) -> None:
    answers = []
    for processes in (1, 0):
        server = make_server(tmp_path / str(processes), query_processes=processes)
        try:
            answers.append(ask(server, query="sum(rate(load[5m])) by (i)", start="300", end="600", step="15"))
            if processes:
                assert server.query_pool is not None and len(server.query_pool.pids()) == 1
                procs = [w.proc for w in server.query_pool._all]
            else:
                assert server.query_pool is None
        finally:
            server.stop()
        if processes:
            assert all(p.returncode is not None for p in procs)  # stopped with the server
    assert answers[0] == answers[1] and answers[0][0] == 200
