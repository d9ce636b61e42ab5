"""A group over a real store and engine: order, staleness, failures, reload carry-over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.model.staleness import is_stale_nan
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.promql.engine import Engine
from metricslib.collector.rules.alerting import STATE_FIRING, AlertingRule
from metricslib.collector.rules.group import Group
from metricslib.collector.rules.query import engine_query
from metricslib.collector.rules.recording import RecordingRule
from metricslib.collector.rules.rule import HEALTH_BAD, HEALTH_OK
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.base import Appender
from tests.collector.rules.fakes import one_rule

MIN = 60_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_storage(tmp_path / "data", background=False, retention_ms=10**15)
    yield s
    s.close()


def put(store: Store, t_ms: int, **series: float) -> None:
    app = store.appender()
    for name, value in series.items():
        job, _, metric = name.partition("__")
        app.append(make_labels({"__name__": metric, "job": job}), t_ms, value)
    app.commit()


def samples(store: Store, name: str) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    from metricslib.collector.model import Matcher

    out = {}
    for series in store.querier().select([Matcher("__name__", "=", name)], 0, 10**13):
        out[series.labels] = list(zip(series.timestamps.tolist(), series.values.tolist(), strict=True))
    return out


def group_of(*rules: RecordingRule | AlertingRule, offset_ms: int = 0, limit: int = 0) -> Group:
    ticks = iter(range(10**6))
    return Group("g", "rules.yml", list(rules), MIN, query_offset_ms=offset_ms, limit=limit,
                 timer=lambda: float(next(ticks)))


def test_later_rules_see_earlier_rules_output_of_the_same_evaluation(store: Store) -> None:
    put(store, 0, a__x=1.0, b__x=2.0)
    first = RecordingRule(one_rule("- record: job:x:sum\n  expr: sum(x)"))
    second = RecordingRule(one_rule("- record: job:x:double\n  expr: job:x:sum * 2"))
    group = group_of(first, second)
    group.eval(MIN, engine_query(lambda: Engine(store.querier())), store.appender)
    assert samples(store, "job:x:double") == {make_labels({"__name__": "job:x:double"}): [(MIN, 6.0)]}
    assert (first.status.health, second.status.health) == (HEALTH_OK, HEALTH_OK)
    assert group.stats.iterations == 1 and group.stats.evaluations == 2 and group.stats.last_evaluation_s == 60


def test_vanished_series_get_a_staleness_marker(store: Store) -> None:
    put(store, 0, a__x=1.0, b__x=2.0)
    rule = RecordingRule(one_rule("- record: copy\n  expr: x"))
    group = group_of(rule)
    query = engine_query(lambda: Engine(store.querier(), lookback_delta_ms=MIN))
    group.eval(MIN // 2, query, store.appender)
    put(store, MIN, a__x=3.0)
    # b's last value (t=0) is older than the lookback at 1m30s: copy{job="b"} vanishes.
    group.eval(MIN + MIN // 2, query, store.appender)
    got = samples(store, "copy")
    a, b = make_labels({"__name__": "copy", "job": "a"}), make_labels({"__name__": "copy", "job": "b"})
    assert got[a] == [(30_000, 1.0), (90_000, 3.0)]
    assert got[b][0] == (30_000, 2.0)
    assert got[b][1][0] == 90_000 and is_stale_nan(got[b][1][1])


def test_query_offset_moves_the_query_and_the_samples(store: Store) -> None:
    put(store, 0, a__x=1.0)
    put(store, MIN, a__x=5.0)
    rule = RecordingRule(one_rule("- record: copy\n  expr: x"))
    group_of(rule, offset_ms=MIN).eval(MIN + 30_000, engine_query(lambda: Engine(store.querier())), store.appender)
    assert list(samples(store, "copy").values()) == [[(30_000, 1.0)]]


def test_a_failing_rule_keeps_its_series_and_the_group_goes_on(store: Store) -> None:
    put(store, 0, a__x=1.0, b__x=1.0)
    bad = RecordingRule(one_rule("- record: bad\n  expr: x"))
    ok = RecordingRule(one_rule("- record: ok\n  expr: sum(x)"))
    group = group_of(bad, ok, limit=1)
    group.eval(MIN, engine_query(lambda: Engine(store.querier())), store.appender)
    assert bad.status.health == HEALTH_BAD and "exceeded limit of 1 with 2 series" in bad.status.last_error
    assert ok.status.health == HEALTH_OK and group.stats.failures == 1
    assert samples(store, "bad") == {}


def test_alerts_are_written_and_sent(store: Store) -> None:
    put(store, 0, a__up=0.0)
    rule = AlertingRule(one_rule("- alert: Down\n  expr: up == 0"), external_url="http://127.0.0.1:9090")
    sent: list[Alert] = []
    group_of(rule).eval(MIN, engine_query(lambda: Engine(store.querier())), store.appender, sent.extend)
    assert rule.state() == STATE_FIRING
    assert [a.labels for a in sent] == [{"alertname": "Down", "job": "a"}]
    alerts = samples(store, "ALERTS")
    assert list(alerts) == [make_labels({"__name__": "ALERTS", "alertname": "Down", "alertstate": "firing",
                                         "job": "a"})]
    assert list(samples(store, "ALERTS_FOR_STATE").values()) == [[(MIN, 60.0)]]


def test_carry_over_keeps_alert_state_of_unchanged_rules(store: Store) -> None:
    put(store, 0, a__up=0.0)
    text = "- alert: Down\n  expr: up == 0\n  for: 5m"
    old = group_of(AlertingRule(one_rule(text)))
    old.eval(MIN, engine_query(lambda: Engine(store.querier())), store.appender)
    same, changed = AlertingRule(one_rule(text)), AlertingRule(one_rule(text + "\n  labels: {x: y}"))
    new = group_of(same, changed)
    new.carry_over(old)
    assert [a.active_at_ms for a in same.active.values()] == [MIN]
    assert changed.active == {}
    assert new.previous[0] == old.previous[0] and new.previous[1] == {}


def test_removed_group_marks_its_series_stale(store: Store) -> None:
    put(store, 0, a__x=1.0)
    group = group_of(RecordingRule(one_rule("- record: copy\n  expr: x")))
    group.eval(MIN, engine_query(lambda: Engine(store.querier())), store.appender)
    group.mark_all_stale(2 * MIN, store.appender)
    (points,) = samples(store, "copy").values()
    assert points[0] == (MIN, 1.0) and points[1][0] == 2 * MIN and is_stale_nan(points[1][1])


class _CountingAppenders:
    """The store's appenders, counting commits."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.commits = 0

    def __call__(self) -> _CountedAppender:
        return _CountedAppender(self.store.appender(), self)


class _CountedAppender:
    def __init__(self, inner: Appender, owner: _CountingAppenders) -> None:
        self.inner = inner
        self.owner = owner

    def append(self, labels: Labels, t_ms: int, value: float) -> object:
        return self.inner.append(labels, t_ms, value)

    def commit(self) -> None:
        self.owner.commits += 1
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()


def test_output_is_committed_before_a_rule_that_may_read_it_and_batched_otherwise(store: Store) -> None:
    put(store, 0, a__x=1.0, b__x=2.0, a__y=5.0)
    group = group_of(
        RecordingRule(one_rule("- record: s:x\n  expr: sum(x)")),
        RecordingRule(one_rule("- record: s:y\n  expr: sum(y)")),
        RecordingRule(one_rule("- record: s:both\n  expr: s:x + s:y")),  # needs both: a commit first
        RecordingRule(one_rule("- record: s:x2\n  expr: s:x * 2")),  # s:both pending, not read: no commit
        RecordingRule(one_rule('- record: s:any\n  expr: count({__name__=~"s:.*"})')),  # may read anything
    )
    appenders = _CountingAppenders(store)
    group.eval(MIN, engine_query(lambda: Engine(store.querier())), appenders)
    assert appenders.commits == 3
    assert samples(store, "s:both") == {(("__name__", "s:both"),): [(MIN, 8.0)]}
    assert samples(store, "s:x2") == {(("__name__", "s:x2"),): [(MIN, 6.0)]}
    assert samples(store, "s:any") == {(("__name__", "s:any"),): [(MIN, 4.0)]}
    assert all(r.status.health == HEALTH_OK for r in group.rules)
