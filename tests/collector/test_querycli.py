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


def test_relative_times_are_resolved_against_one_now(server, monkeypatch) -> None:
    import time

    url, engine = server
    monkeypatch.setattr(time, "time", lambda: 10_000.0)
    assert main(["query", "--url", url, "--start", "now-1h", "--end", "now", "--step", "1m", "up"]) == 0
    assert main(["query", "--url", url, "--time", "now+90s", "up"]) == 0
    assert engine.calls == [("range", "up", 6_400_000, 10_000_000, 60_000), ("instant", "up", 10_090_000)]


@pytest.mark.parametrize(("text", "expected"), [
    ("now", "500.000"), ("now-1m30s", "410.000"), ("now+1d", "86900.000"),
    ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"), ("1700000000", "1700000000"), (None, None),
])
def test_resolve_time(text, expected) -> None:
    from metricslib.collector.querycli import resolve_time

    assert resolve_time(text, 500.0) == expected


@pytest.mark.parametrize("text", ["now-", "now-1x", "now*2", "nowish"])
def test_bad_relative_time_is_one_clear_line(text, capsys) -> None:
    assert main(["query", "--url", "http://127.0.0.1:1", "--start", text, "--end", "now", "up"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot parse time {text!r}" in err
