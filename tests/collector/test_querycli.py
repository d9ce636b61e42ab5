import json
from collections.abc import Iterator

import pytest

from metricslib.cli import main
from metricslib.collector.querycli import format_table
from metricslib.collector.web.api.v1 import PrometheusAPI, Response
from metricslib.collector.web.server import Routes, serve
from metricslib.errors import PromQLParseError
from tests.collector.fakes import RecordingEngine, sample_querier, simple_selector


@pytest.fixture
def server() -> Iterator[tuple[str, RecordingEngine]]:
    engine = RecordingEngine()
    api = PrometheusAPI(engine_factory=lambda t: engine, querier_factory=sample_querier, parse_selector=simple_selector)
    routes = Routes(api=api, federate=lambda r: Response(404, b""), reload=lambda: None,
                    ready=lambda: True, own_metrics=lambda a: Response(200, b""))
    httpd, _ = serve("127.0.0.1", 0, routes)
    host, port = httpd.server_address[:2]
    yield f"http://{host}:{port}", engine
    httpd.shutdown()
    httpd.server_close()


def test_instant_query_prints_like_promtool(server, capsys) -> None:
    url, engine = server
    assert main(["query", "--url", url, "--time", "100", "up"]) == 0
    assert capsys.readouterr().out == 'up => 1 @[100.0]\n'
    assert engine.calls == [("instant", "up", 100_000)]


def test_range_query_and_json_output(server, capsys) -> None:
    url, engine = server
    assert main(["query", "--url", url, "--start", "0", "--end", "60", "--step", "15s", "--format", "json", "up"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"resultType": "matrix", "result": []}
    assert "warning: a warning" in out.err
    assert engine.calls == [("range", "up", 0, 60_000, 15_000)]


def test_errors_are_reported_with_their_type(server, capsys) -> None:
    url, engine = server
    engine.error = PromQLParseError("1:4: parse error: unexpected end of input", 3)
    assert main(["query", "--url", url, "sum("]) == 1
    assert "bad_data: 1:4: parse error: unexpected end of input" in capsys.readouterr().err


def test_unreachable_server_is_a_clear_error(capsys) -> None:
    assert main(["query", "--url", "http://127.0.0.1:1", "up"]) == 1
    assert "cannot reach http://127.0.0.1:1" in capsys.readouterr().err


def test_format_table_handles_every_result_type(capsys) -> None:
    import sys

    format_table({"resultType": "scalar", "result": [1.5, "2"]}, sys.stdout)
    format_table({"resultType": "matrix", "result": [{"metric": {"a": 'x"y'}, "values": [[1, "1"], [2, "2"]]}]}, sys.stdout)
    assert capsys.readouterr().out.splitlines() == ["scalar => 2 @[1.5]", '{a="x\\"y"} =>', "1 @[1]", "2 @[2]"]
