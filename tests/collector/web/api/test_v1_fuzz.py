"""Fuzzing the query endpoints with generated PromQL: every answer is a value or
a 4xx/503 error in Prometheus's envelope, never a 500 or an exception.

Expressions are built from the parser's own function table, mostly well typed
(so they reach the engine) with hostile leaves: NaN, ±Inf, huge and negative
numbers, durations near and past Go's ~292-year limit, RE2-invalid and
backtracking-prone regexes, empty and Unicode strings. A share of them are
mutated text, for the parser's error paths.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricslib.collector.promql.parser.ast import ValueType
from metricslib.collector.promql.parser.functions import (
    AGGREGATORS,
    AGGREGATORS_WITH_PARAM,
    FUNCTIONS,
)
from metricslib.collector.web.api.v1 import PrometheusAPI, Request
from tests.collector.promql.test_engine_limits import NOW_S, _querier, make_api

API: PrometheusAPI = make_api(_querier(series=4), timeout_s=2.0, max_samples=200_000, enable_experimental=True)

NUMBERS = st.sampled_from(
    ["0", "-0", "1", "0.5", "-1", "2", "NaN", "Inf", "-Inf", "+Inf", "1e308", "-1e308", "1e-320",
     "0x10", "99999999999999999999", "-99999999999999999999", "3.14e20", ".5"]
)  # fmt: skip
DURATIONS = st.sampled_from(
    ["1ms", "1s", "15s", "1m", "5m", "1h", "1d", "1w", "1y", "292y", "293y", "1h30m", "99999999999999999999y",
     "9999999999999y", "0s", "1", "0.001", "1e20", "300"]
)  # fmt: skip
REGEXES = st.one_of(
    st.sampled_from(
        ["", ".*", ".+", "a|b", "(a+)+", "(?i)UP", "a{1001}", "a{1000}", "(?=x)", "(a)\\\\1", "[", "(",
         "\\\\C", "(?<n>x)", "[[:alpha:]]+", "\\\\pL", "\\\\z", "x*?", "(.*a){20}", "\\\\Q.*\\\\E", "é+"]
    ),
    st.text(alphabet="ab.*+?()[]{}|\\^$,0123456789", max_size=12).map(lambda s: s.replace("\\", "\\\\")),
)  # fmt: skip
STRINGS = st.sampled_from(['""', '"x"', '"1x"', '"le"', '"__name__"', '"é"', '"a\\xff"', '"job"'])
LABELS = st.sampled_from(["job", "instance", "__name__", "le", "x"])
NAMES = st.sampled_from(["up", "nope", "up_total"])


@st.composite
def selector(draw: st.DrawFn) -> str:
    name = draw(NAMES)
    matchers = draw(st.lists(st.tuples(LABELS, st.sampled_from(["=", "!=", "=~", "!~"]), REGEXES), max_size=2))
    text = name + ("{" + ",".join(f'{k}{op}"{v}"' for k, op, v in matchers) + "}" if matchers else "")
    if draw(st.booleans()):
        text += f" offset {draw(st.sampled_from(['', '-']))}{draw(DURATIONS)}"
    if draw(st.integers(0, 5)) == 0:
        text += f" @ {draw(st.sampled_from(['start()', 'end()', '0', '3600', '1e30', 'NaN', '-1']))}"
    return text


def expr(t: ValueType, depth: int) -> st.SearchStrategy[str]:
    """A PromQL expression of type ``t`` (mostly well typed)."""
    if t == "string":
        return STRINGS
    if t == "scalar":
        leaves = [NUMBERS, st.just("time()")]
        if depth <= 0:
            return st.one_of(*leaves)
        return st.one_of(
            *leaves,
            expr("vector", depth - 1).map(lambda v: f"scalar({v})"),
            st.tuples(expr("scalar", depth - 1), st.sampled_from(["+", "-", "*", "/", "%", "^", "atan2"]),
                      expr("scalar", depth - 1)).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        )  # fmt: skip
    if t == "matrix":
        return st.one_of(
            st.tuples(selector(), DURATIONS).map(lambda p: f"{p[0].split(' offset')[0].split(' @')[0]}[{p[1]}]"),
            st.tuples(expr("vector", max(depth - 1, 0)), DURATIONS, st.sampled_from(["", "1ms", "1s", "1m", "0.5"]))
            .map(lambda p: f"({p[0]})[{p[1]}:{p[2]}]"),
        )  # fmt: skip
    if depth <= 0:
        return st.one_of(selector(), NUMBERS.map(lambda n: f"vector({n})"))
    return st.one_of(selector(), call(depth), aggregation(depth), binary(depth))


@st.composite
def call(draw: st.DrawFn, depth: int) -> str:
    sig = draw(st.sampled_from(sorted((f for f in FUNCTIONS.values() if f.return_type == "vector"), key=lambda f: f.name)))
    n = draw(st.integers(sig.min_args, sig.max_args if sig.max_args is not None else len(sig.arg_types) + 1))
    args = [draw(expr(sig.arg_type(i), depth - 1)) for i in range(n)]
    return f"{sig.name}({', '.join(args)})"


@st.composite
def aggregation(draw: st.DrawFn, depth: int) -> str:
    op = draw(st.sampled_from(sorted(AGGREGATORS)))
    grouping = draw(st.sampled_from(["", " by (job)", " without (instance)", " by ()"]))
    inner = draw(expr("vector", depth - 1))
    if op in AGGREGATORS_WITH_PARAM:
        param = draw(expr("string" if op == "count_values" else "scalar", depth - 1))
        return f"{op}{grouping}({param}, {inner})"
    return f"{op}{grouping}({inner})"


@st.composite
def binary(draw: st.DrawFn, depth: int) -> str:
    op = draw(st.sampled_from(["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "atan2"]))
    modifier = draw(st.sampled_from(["", " bool", " on (job)", " ignoring (instance)", " on () group_left",
                                     " ignoring (x) group_right (job)"]))  # fmt: skip
    lhs = draw(expr("vector", depth - 1))
    rhs = draw(st.one_of(expr("vector", depth - 1), expr("scalar", depth - 1)))
    return f"({lhs} {op}{modifier} {rhs})"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(expr("vector", 2))
    at = draw(st.integers(0, len(text)))
    junk = draw(st.text(alphabet='()[]{}:,"\'`@~=!<>+-*/^% \\0123456789aeINfy', max_size=4))
    return text[:at] + junk + text[at + draw(st.integers(0, 3)) :]


QUERIES = st.one_of(expr("vector", 3), expr("scalar", 2), expr("matrix", 2), expr("string", 0), mutated())


def _answer(path: str, params: dict[str, str]) -> tuple[int, dict[str, object]]:
    try:
        resp = API.handle(Request("GET", path, {k: [v] for k, v in params.items()}))
    except Exception as exc:  # the HTTP server would turn this into a 500
        raise AssertionError(f"{params['query']!r} raised {exc!r} (a 500)") from exc
    return resp.status, json.loads(resp.body)


def _check(status: int, body: dict[str, object], query: str) -> None:
    assert status != 500 and status in (200, 400, 422, 503), f"{query!r}: {status} {body}"
    if status == 200:
        assert body["status"] == "success"
    else:
        assert body["status"] == "error" and body["errorType"] in ("bad_data", "execution", "timeout"), body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(QUERIES)
def test_instant_queries_never_answer_500(query: str) -> None:
    status, body = _answer("/api/v1/query", {"query": query, "time": str(NOW_S)})
    _check(status, body, query)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(QUERIES, st.sampled_from(["1", "15", "60", "0.001"]))
def test_range_queries_never_answer_500(query: str, step: str) -> None:
    status, body = _answer("/api/v1/query_range", {"query": query, "start": "1800", "end": str(NOW_S), "step": step})
    _check(status, body, query)
