"""The rules manager: loading from the config, atomic reloads, restarts restoring for-state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metricslib.collector.config.config import load_config
from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.model.staleness import is_stale_nan
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.promql.engine import Engine
from metricslib.collector.rules.alerting import STATE_FIRING, STATE_PENDING
from metricslib.collector.rules.manager import ManagerOptions, RuleManager
from metricslib.collector.rules.query import engine_query
from metricslib.collector.rules.rulefmt import RuleFileError
from metricslib.collector.storage import Store, open_storage

MIN = 60_000
RULES = """groups:
  - name: g
    interval: 1m
    rules:
      - record: x:sum
        expr: sum(x)
      - alert: XHigh
        expr: x > 1
        for: 3m
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_storage(tmp_path / "data", background=False, retention_ms=10**15)
    yield s
    s.close()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def setup(tmp_path: Path, store: Store, rules: str = RULES, clock: Clock | None = None,
          sent: list[Alert] | None = None) -> RuleManager:
    (tmp_path / "rules.yml").write_text(rules)
    (tmp_path / "prometheus.yml").write_text("global:\n  evaluation_interval: 30s\nrule_files: ['rule*.yml']\n")
    manager = RuleManager(query=engine_query(lambda: Engine(store.querier())), appender=store.appender,
                          querier=store.querier, notify=None if sent is None else sent.extend,
                          options=ManagerOptions(grace_period_ms=MIN), clock=clock or Clock(1000.0))
    manager.update(load_config(tmp_path / "prometheus.yml"))
    return manager


def fill(store: Store, until_ms: int, value: float = 5.0) -> None:
    app = store.appender()
    for t in range(0, until_ms + 1, 15_000):
        app.append(make_labels({"__name__": "x", "job": "a"}), t, value)
    app.commit()


def run_until(manager: RuleManager, clock: Clock, until_ms: int) -> list[int]:
    """Step every group as its thread would, up to ``until_ms``; returns the evaluation times."""
    times = []
    (runner,) = manager.runners()
    while runner.next_ns // 1_000_000 <= until_ms:
        clock.t = runner.next_ns / 1e9
        runner.step(runner.next_ns, manager)
        times.append(runner.last_ns // 1_000_000 if runner.last_ns is not None else -1)
    return times


def test_groups_come_from_rule_files_with_the_global_interval_as_default(tmp_path: Path, store: Store) -> None:
    manager = setup(tmp_path, store, RULES.replace("    interval: 1m\n", ""))
    (group,) = manager.groups()
    assert (group.name, group.file, group.interval_ms) == ("g", str(tmp_path / "rules.yml"), 30_000)
    assert [r.name for r in group.rules] == ["x:sum", "XHigh"]


def test_evaluations_are_aligned_to_the_group_offset(tmp_path: Path, store: Store) -> None:
    clock = Clock(1000.0)
    manager = setup(tmp_path, store, clock=clock)
    (runner,) = manager.runners()
    offset_ms = runner.group.hash % (MIN * 1_000_000) // 1_000_000
    times = run_until(manager, clock, 1_000_000 + 5 * MIN)
    assert len(times) >= 5
    assert all((t - offset_ms) % MIN == 0 for t in times)
    assert times[0] > 1_000_000


def test_missed_iterations_are_counted_and_skipped(tmp_path: Path, store: Store) -> None:
    clock = Clock(1000.0)
    manager = setup(tmp_path, store, clock=clock)
    (runner,) = manager.runners()
    first = runner.next_ns
    runner.step(first, manager)
    runner.step(first + 3 * MIN * 1_000_000 + 5, manager)  # woke three intervals late
    assert runner.group.stats.iterations_missed == 2
    assert runner.last_ns == first + 3 * MIN * 1_000_000


def test_a_bad_reload_keeps_the_running_rules(tmp_path: Path, store: Store) -> None:
    manager = setup(tmp_path, store)
    (before,) = manager.runners()
    (tmp_path / "rules.yml").write_text(RULES.replace("expr: sum(x)", "expr: sum(x"))
    with pytest.raises(RuleFileError, match=r"rules.yml: 6:15: group \"g\", rule 1, \"x:sum\": could not parse"):
        manager.update(load_config(tmp_path / "prometheus.yml"))
    assert manager.runners() == [before] and "could not parse" in manager.last_error


def test_reload_keeps_unchanged_groups_and_alert_state(tmp_path: Path, store: Store) -> None:
    clock = Clock(0.0)
    fill(store, 10 * MIN)
    manager = setup(tmp_path, store, clock=clock)
    run_until(manager, clock, 2 * MIN)
    (before,) = manager.runners()
    manager.update(load_config(tmp_path / "prometheus.yml"))
    assert manager.runners() == [before]  # same definition: the same running group
    (tmp_path / "rules.yml").write_text(RULES + "      - record: extra\n        expr: x\n")
    manager.update(load_config(tmp_path / "prometheus.yml"))
    (after,) = manager.runners()
    assert after is not before
    old_alert = next(iter(before.group.alerting_rules()[0].active.values()))
    new_alert = next(iter(after.group.alerting_rules()[0].active.values()))
    assert new_alert.active_at_ms == old_alert.active_at_ms and new_alert.state == STATE_PENDING


def test_removed_group_writes_staleness_markers(tmp_path: Path, store: Store) -> None:
    clock = Clock(0.0)
    fill(store, 10 * MIN)
    manager = setup(tmp_path, store, clock=clock)
    run_until(manager, clock, 2 * MIN)
    (tmp_path / "rules.yml").write_text("groups: []\n")
    clock.t = 3 * 60.0
    manager.update(load_config(tmp_path / "prometheus.yml"))
    assert manager.groups() == []
    (series,) = store.querier().select([Matcher("__name__", "=", "x:sum")], 0, 10**12)
    assert is_stale_nan(float(series.values[-1])) and int(series.timestamps[-1]) == 180_000


def test_restart_restores_for_state_and_a_firing_alert_stays_firing(tmp_path: Path, store: Store) -> None:
    clock = Clock(0.0)
    fill(store, 30 * MIN)
    sent: list[Alert] = []
    first = setup(tmp_path, store, clock=clock, sent=sent)
    run_until(first, clock, 6 * MIN)
    (alert,) = first.groups()[0].alerting_rules()[0].active.values()
    assert alert.state == STATE_FIRING and sent
    active_at = alert.active_at_ms
    # "kill -9": the first manager is simply dropped; a new one starts 2 minutes later.
    clock.t = 8 * 60.0
    second = setup(tmp_path, store, clock=clock)
    (runner,) = second.runners()
    assert runner.should_restore
    rule = runner.group.alerting_rules()[0]
    assert not rule.restored
    clock.t = runner.next_ns / 1e9
    runner.step(runner.next_ns, second)
    (restored,) = rule.active.values()
    # ALERTS_FOR_STATE holds whole seconds, as in Prometheus.
    assert (restored.active_at_ms, restored.state, rule.restored) == (active_at // 1000 * 1000, STATE_FIRING, True)
