"""The test-script parser: loads with expanding notation, evals, expectations."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.model import is_stale_nan
from tests.collector.promql.script import (
    HISTOGRAM,
    ClearCmd,
    EvalCmd,
    LoadCmd,
    ScriptError,
    expand_values,
    parse_script,
    parse_series_labels,
)


def test_expanding_notation() -> None:
    assert expand_values("1+2x3") == [1, 3, 5, 7]
    assert expand_values("10-2x3") == [10, 8, 6, 4]
    assert expand_values("1x3") == [1, 1, 1, 1]
    assert expand_values("-1-1x2") == [-1, -2, -3]
    assert expand_values("_ 1 _x2 2") == [None, 1, None, None, 2]
    assert expand_values("0x59 60")[:2] == [0, 0] and len(expand_values("0x59 60")) == 61
    assert expand_values("1e3 .5 -Inf") == [1000, 0.5, -math.inf]


def test_special_values() -> None:
    stale, nan, inf = expand_values("stale NaN Inf")
    assert isinstance(stale, float) and is_stale_nan(stale)
    assert isinstance(nan, float) and math.isnan(nan) and not is_stale_nan(nan)
    assert inf == math.inf


def test_native_histograms_are_recognised_not_decoded() -> None:
    points = expand_values("1 {{schema:1 sum:3 count:22 buckets:[5 10 7]}} {{count:1}}+{{count:2}}x2")
    assert points == [1, HISTOGRAM, HISTOGRAM, HISTOGRAM, HISTOGRAM]


@given(st.integers(-50, 50), st.integers(-5, 5), st.integers(0, 30))
def test_expansion_is_arithmetic(start: int, step: int, times: int) -> None:
    text = f"{start}{step:+d}x{times}"
    assert expand_values(text) == [start + i * step for i in range(times + 1)]


def test_series_labels() -> None:
    assert parse_series_labels('foo{a="1", b="x"}') == (("__name__", "foo"), ("a", "1"), ("b", "x"))
    assert parse_series_labels('{"my.name", "l.x"="v"}') == (("__name__", "my.name"), ("l.x", "v"))
    assert parse_series_labels("{}") == ()
    assert parse_series_labels('{a=""}') == ()
    with pytest.raises(ScriptError, match="duplicate"):
        parse_series_labels('x{a="1", a="2"}')
    with pytest.raises(ScriptError, match="expected '='"):
        parse_series_labels('x{a!="1"}')


SCRIPT = """
# comment
load 5m
  http_requests{job="api"} 0+10x2
  other _ 1

eval instant at 10m http_requests
  expect no_warn
  http_requests{job="api"} 20

eval range from 0 to 10m step 5m other
  other _ 1

eval_fail instant at 0 foo(
  expected_fail_message bad

eval instant at 1m 1 + 1
  expect fail msg: some message
  expect warn regex: ^x

eval_ordered instant at 0 sort(x)
  x{a="1"} 1
  x{a="2"} 2

eval instant at 1m "Foo"
  expect string "Foo"

eval instant at 1m foo[2m]
  expect range vector from 0 to 2m step 1m
  foo 1 2 3

clear
eval instant at 1m 3
  3
"""


def test_whole_script() -> None:
    cmds = parse_script(SCRIPT)
    kinds = [type(c).__name__ for c in cmds]
    assert kinds == ["LoadCmd"] + ["EvalCmd"] * 7 + ["ClearCmd", "EvalCmd"]
    load = cmds[0]
    assert isinstance(load, LoadCmd) and load.interval_ms == 300_000
    assert load.series[1] == ((("__name__", "other"),), [None, 1.0])
    ev = [c for c in cmds if isinstance(c, EvalCmd)]
    assert (ev[0].instant, ev[0].start_ms, ev[0].series[0].points) == (True, 600_000, [20.0])
    assert [e.kind for e in ev[0].expectations] == ["no_warn"]
    assert (ev[1].instant, ev[1].start_ms, ev[1].end_ms, ev[1].step_ms) == (False, 0, 600_000, 300_000)
    assert ev[2].is_fail() and ev[2].of_kind("fail")[0].matches("bad")
    assert ev[3].is_fail() and ev[3].of_kind("fail")[0].message == "some message"
    assert ev[3].of_kind("warn")[0].matches("xyz") and not ev[3].of_kind("warn")[0].matches("axe")
    assert ev[4].is_ordered() and [s.position for s in ev[4].series] == [1, 2]
    assert ev[5].string == "Foo"
    assert ev[6].range_vector == (0, 120_000, 60_000) and ev[6].series[0].points == [1, 2, 3]
    assert ev[7].scalar == 3
    assert isinstance(cmds[8], ClearCmd)


def test_comment_line_ends_a_block() -> None:
    # As in Prometheus, a comment counts as a blank line, so "b 2" is a stray command.
    with pytest.raises(ScriptError, match="line 4: invalid command 'b 2'"):
        parse_script("load 1m\n  a 1\n# note\n  b 2\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [("bogus", "invalid command"), ("load\n", "invalid load command"),
     ("eval instant at 1m x\n  x 1 2\n", "expect range vector"),
     ("eval instant at 1m x\n  expect nothing\n", "invalid expect"),
     ("load 1m\n  a 1+\n", "invalid series value")],
)  # fmt: skip
def test_script_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message) as info:
        parse_script(text)
    assert info.value.line >= 1
