"""Recording rules: renaming, relabelling, duplicates and the limit."""

from __future__ import annotations

import pytest

from metricslib.collector.rules.recording import RecordingRule, RuleEvalError
from tests.collector.rules.fakes import ScriptedQuery, lbl, one_rule


def test_result_is_renamed_and_relabelled() -> None:
    rule = RecordingRule(one_rule("- record: job:x:sum\n  expr: sum by (job) (x)\n  labels: {env: prod, job: ''}"),
                         {"team": "web", "env": "dev"})
    query = ScriptedQuery({1000: [(lbl(__name__="x", job="a", env="old"), 2.0), (lbl(instance="i"), 3.0)]})
    assert rule.eval(1000, query) == [
        (lbl(__name__="job:x:sum", env="prod", team="web"), 1000, 2.0),  # empty rule label removes job
        (lbl(__name__="job:x:sum", env="prod", instance="i", team="web"), 1000, 3.0),
    ]
    assert query.calls == [("sum by (job) (x)", 1000)]


def test_same_labelset_after_relabelling_is_an_error() -> None:
    rule = RecordingRule(one_rule("- record: r\n  expr: x\n  labels: {a: b}"))
    query = ScriptedQuery({0: [(lbl(__name__="x", a="1"), 1.0), (lbl(__name__="y", a="2"), 2.0)]})
    with pytest.raises(RuleEvalError, match="same labelset after applying rule labels"):
        rule.eval(0, query)


def test_limit() -> None:
    rule = RecordingRule(one_rule("- record: r\n  expr: x"))
    query = ScriptedQuery({0: [(lbl(i="1"), 1.0), (lbl(i="2"), 2.0)]})
    assert len(rule.eval(0, query, limit=2)) == 2
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 series"):
        rule.eval(0, query, limit=1)


def test_scalar_result_becomes_one_unlabelled_series() -> None:
    rule = RecordingRule(one_rule("- record: r\n  expr: '1'"))
    assert rule.eval(5, ScriptedQuery({5: [((), 1.0)]})) == [(lbl(__name__="r"), 5, 1.0)]


def test_query_is_shown_as_prometheus_2_42_shows_it() -> None:
    rule = RecordingRule(one_rule("- record: r\n  expr: x / ignoring(path) group_left y"))
    assert rule.query == "x / ignoring (path) group_left () y"  # /api/v1/rules
    query = ScriptedQuery()
    rule.eval(0, query)
    assert query.calls == [("x / ignoring (path) group_left y", 0)]
