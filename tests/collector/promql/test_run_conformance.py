"""The conformance runner judges results like promqltest: checked with a scripted fake engine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from metricslib.errors import QueryExecutionError
from tests.collector.promql.memstore import MemoryQuerier
from tests.collector.promql.run_conformance import (
    RunOptions,
    almost_equal,
    format_report,
    main,
    run_file,
    summary_table,
)


class FakeResult:
    def __init__(self, data: dict[str, Any], warnings: list[str] | None = None) -> None:
        self.data = data
        self.warnings = warnings or []
        self.infos: list[str] = []

    def to_api(self) -> dict[str, Any]:
        return self.data


def vector(t_ms: int, *series: tuple[dict[str, str], str]) -> FakeResult:
    return FakeResult({"resultType": "vector",
                       "result": [{"metric": m, "value": [t_ms / 1000, v]} for m, v in series]})  # fmt: skip


class FakeEngine:
    """Answers every instant query with ``answer(query, t)``; range queries likewise per step."""

    def __init__(self, answer: Any, log: list[tuple[str, int]]) -> None:
        self.answer = answer
        self.log = log

    def instant_query(self, query: str, t_ms: int) -> Any:
        self.log.append((query, t_ms))
        return self.answer(query, t_ms)

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Any:
        series: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
        for t in range(start_ms, end_ms + 1, step_ms):
            res = self.answer(query, t).to_api()
            for item in res["result"]:
                series.setdefault(tuple(sorted(item["metric"].items())), []).append(item["value"])
        result = [{"metric": dict(k), "values": v} for k, v in sorted(series.items())]
        return FakeResult({"resultType": "matrix", "result": result})


def run(tmp_path: Path, script: str, answer: Any, **kw: Any) -> tuple[Any, list[tuple[str, int]]]:
    path = tmp_path / "case.test"
    path.write_text(script)
    log: list[tuple[str, int]] = []
    report = run_file(path, RunOptions(lambda q: FakeEngine(answer, log), **kw))
    return report, log


SCRIPT = """
load 1m
  m{a="1"} 1 2 3

eval instant at 2m m
  m{a="1"} 3
"""


def test_almost_equal_follows_prometheus() -> None:
    assert almost_equal(1.0, 1.0 + 1e-9)
    assert not almost_equal(1.0, 1.001)
    assert almost_equal(math.nan, math.nan)
    assert not almost_equal(0.0, 1e-300)
    assert almost_equal(math.inf, math.inf) and not almost_equal(math.inf, -math.inf)


def test_matching_result_passes_and_is_rerun_in_range_and_at_modes(tmp_path: Path) -> None:
    report, log = run(tmp_path, SCRIPT, lambda q, t: vector(t, ({"__name__": "m", "a": "1"}, "3")))
    assert [o.status for o in report.outcomes] == ["pass"], report.outcomes
    queries = {q for q, _ in log}
    assert "m" in queries and "m @ 120.000" in queries  # the @-pinned variant ran
    assert {t for q, t in log if q == "m @ 120.000"} == {-1_200_000, 0, 24_000, 120_000, 1_200_000}


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ({"a": "1", "__name__": "m"}, "3.1"),
        ({"a": "2", "__name__": "m"}, "3"),
    ],
)
def test_wrong_value_or_labels_fail(tmp_path: Path, answer: dict[str, str], detail: str) -> None:
    report, _ = run(tmp_path, SCRIPT, lambda q, t: vector(t, (answer, detail)))
    assert [o.status for o in report.outcomes] == ["fail"]


def test_missing_series_fails(tmp_path: Path) -> None:
    report, _ = run(tmp_path, SCRIPT, lambda q, t: vector(t))
    assert "not found" in report.outcomes[0].detail


def test_range_mode_disagreement_fails(tmp_path: Path) -> None:
    class RangeDiffers(FakeEngine):
        def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Any:
            res = super().range_query(query, start_ms, end_ms, step_ms)
            for item in res.data["result"]:
                item["values"] = [[t, "99"] for t, _ in item["values"]]
            return res

    path = tmp_path / "case.test"
    path.write_text(SCRIPT)
    answer = lambda q, t: vector(t, ({"__name__": "m", "a": "1"}, "3"))  # noqa: E731
    report = run_file(path, RunOptions(lambda q: RangeDiffers(answer, []), at_variants=False))
    assert report.outcomes[0].status == "fail" and "range mode" in report.outcomes[0].detail


def test_at_variant_disagreement_fails(tmp_path: Path) -> None:
    def answer(q: str, t: int) -> FakeResult:
        return vector(t, ({"__name__": "m", "a": "1"}, "3" if "@" not in q else "4"))

    assert run(tmp_path, SCRIPT, answer, at_variants=False)[0].outcomes[0].status == "pass"
    report, _ = run(tmp_path, SCRIPT, answer)
    assert report.outcomes[0].status == "fail" and "@ pinned" in report.outcomes[0].detail


def test_expected_failures_and_messages(tmp_path: Path) -> None:
    script = "eval instant at 0 m\n  expect fail msg: boom\n"

    def boom(q: str, t: int) -> FakeResult:
        raise QueryExecutionError("boom")

    def other(q: str, t: int) -> FakeResult:
        raise QueryExecutionError("bang")

    assert run(tmp_path, script, boom)[0].outcomes[0].status == "pass"
    assert run(tmp_path, script, other)[0].outcomes[0].status == "fail"
    assert run(tmp_path, script, lambda q, t: vector(t))[0].outcomes[0].status == "fail"


def test_annotations_are_checked_unless_ignored(tmp_path: Path) -> None:
    script = "eval instant at 0 m\n  expect warn msg: careful\n"
    silent = run(tmp_path, script, lambda q, t: vector(t))[0]
    assert silent.outcomes[0].status == "fail"
    warned = run(tmp_path, script, lambda q, t: FakeResult(vector(t).data, ["careful"]))[0]
    assert warned.outcomes[0].status == "pass"
    ignored = run(tmp_path, script, lambda q, t: vector(t), ignore_annotations=True)[0]
    assert ignored.outcomes[0].status == "pass"


def test_ordered_results_check_positions(tmp_path: Path) -> None:
    script = 'eval_ordered instant at 0 m\n  m{a="2"} 2\n  m{a="1"} 1\n'

    def answer(order: list[str]) -> Any:
        return lambda q, t: vector(t, *(({"__name__": "m", "a": a}, a) for a in order))

    assert run(tmp_path, script, answer(["2", "1"]))[0].outcomes[0].status == "pass"
    assert run(tmp_path, script, answer(["1", "2"]))[0].outcomes[0].status == "fail"


def test_engine_crash_is_a_failure_not_an_abort(tmp_path: Path) -> None:
    script = SCRIPT + "\neval instant at 2m m\n  m{a=\"1\"} 3\n"
    calls = {"n": 0}

    def flaky(q: str, t: int) -> FakeResult:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ZeroDivisionError("oops")
        return vector(t, ({"__name__": "m", "a": "1"}, "3"))

    report, _ = run(tmp_path, script, flaky)
    assert [o.status for o in report.outcomes] == ["fail", "pass"]
    assert "crashed: ZeroDivisionError" in report.outcomes[0].detail


def test_skips_say_why(tmp_path: Path) -> None:
    script = """
load 1m
  h {{schema:0 sum:1 count:1}}
  f 1

eval instant at 0 h
  h {{schema:0 sum:1 count:1}}

eval instant at 0 count(h)
  {} 1

eval instant at 0 sort_by_label(f, "a")
  f 1

eval instant at 0 limitk(1, f)
  f 1

eval instant at 0 f
  f 1
"""
    report, _ = run(tmp_path, script, lambda q, t: vector(t, ({"__name__": "f"}, "1")))
    assert [(o.status, o.detail.split(" (")[0]) for o in report.outcomes] == [
        ("skip", "expects native histogram results"),
        ("skip", "reads native histogram samples"),
        ("skip", "sort_by_label() is experimental"),
        ("skip", "limitk is experimental"),
        ("pass", ""),
    ]
    text = format_report(report, 5, verbose=True)
    assert "SKIP 1 x limitk is experimental" in text
    assert "case.test" in summary_table([report])


def test_parse_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "p.test"
    path.write_text("eval instant at 0 rate(x)\n  expect fail\n\neval instant at 0 sum(\n  {} 1\n")
    report = run_file(path, RunOptions(engine_factory=None))
    assert [o.status for o in report.outcomes] == ["pass", "fail"]
    assert "parse error" in report.outcomes[1].detail


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.test"
    path.write_text("eval instant at 0 1 + 1\n  2\n")
    assert main([str(path), "--parse-only"]) == 0
    out = capsys.readouterr().out
    assert "ok.test" in out and "TOTAL" in out
    assert main([str(tmp_path / "missing.test")]) == 2


def test_memstore_is_the_querier(tmp_path: Path) -> None:
    seen: list[MemoryQuerier] = []

    def factory(q: MemoryQuerier) -> FakeEngine:
        seen.append(q)
        return FakeEngine(lambda query, t: vector(t, ({"__name__": "m", "a": "1"}, "3")), [])

    path = tmp_path / "case.test"
    path.write_text(SCRIPT)
    run_file(path, RunOptions(factory))
    got = seen[0].select([], 0, 10**6)
    assert [s.values.tolist() for s in got] == [[1.0, 2.0, 3.0]]
