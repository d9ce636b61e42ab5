"""A rule group: its rules evaluated in order at one timestamp, results written as they come.

A rule sees the output of the rules above it in the same evaluation: their
samples are committed before it runs when it may read them (see
``dependencies``), else they wait for the next commit. A series a rule
wrote last time and not this time gets a staleness marker. A failing rule
keeps its previous series (no markers) and the group carries on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from metricslib.collector.model import Labels
from metricslib.collector.model.staleness import STALE_NAN
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.rules.alerting import AlertingRule
from metricslib.collector.rules.dependencies import ANYTHING, selected_names
from metricslib.collector.rules.recording import RecordingRule
from metricslib.collector.rules.rule import QueryFunc
from metricslib.collector.rules.schedule import group_hash
from metricslib.collector.rules.sending import DEFAULT_RESEND_DELAY_MS, alerts_to_send
from metricslib.collector.storage.base import Appender
from metricslib.errors import OutOfOrderSampleError

__all__ = ["AnyRule", "Group", "GroupStats"]

AnyRule = RecordingRule | AlertingRule

_ALERT_SERIES = frozenset(("ALERTS", "ALERTS_FOR_STATE"))


@dataclass
class GroupStats:
    """Counters the self-metrics read (per group, since the group was created)."""

    evaluations: int = 0
    failures: int = 0
    iterations_missed: int = 0
    iterations: int = 0
    last_duration_s: float = 0.0
    last_evaluation_s: float = 0.0  # Unix seconds of the evaluation timestamp; 0 = never
    last_evaluation_wall_s: float = 0.0  # when that evaluation started, by the wall clock


@dataclass
class Group:
    name: str
    file: str
    rules: list[AnyRule]
    interval_ms: int
    query_offset_ms: int = 0
    limit: int = 0
    timer: Callable[[], float] = time.perf_counter
    wall: Callable[[], float] = time.time
    resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS
    stats: GroupStats = field(default_factory=GroupStats)
    #: Held while evaluating; readers (the API) take it for a consistent view.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.hash = group_hash(self.file, self.name)
        #: Per rule: the series it wrote at its last successful evaluation.
        self.previous: list[dict[Labels, None]] = [{} for _ in self.rules]
        # Per rule: the metric names it may read (ANYTHING: any) and the names it writes.
        self._reads = [ANYTHING if isinstance(r, AlertingRule) else selected_names(r.expr) for r in self.rules]
        self._writes = [_ALERT_SERIES if isinstance(r, AlertingRule) else frozenset((r.name,)) for r in self.rules]

    @property
    def key(self) -> tuple[str, str]:
        return (self.file, self.name)

    def alerting_rules(self) -> list[AlertingRule]:
        return [r for r in self.rules if isinstance(r, AlertingRule)]

    def eval(self, t_ms: int, query: QueryFunc, appender: Callable[[], Appender],
             notify: Callable[[Sequence[Alert]], None] | None = None) -> None:
        """Evaluate every rule at the aligned time ``t_ms`` (queries run at ``t_ms`` - query_offset)."""
        started, started_wall = self.timer(), self.wall()
        at_ms = t_ms - self.query_offset_ms
        app: Appender | None = None
        pending: set[str] = set()  # metric names written but not committed yet
        for index, rule in enumerate(self.rules):
            reads = self._reads[index]
            if app is not None and pending and (reads is ANYTHING or not reads.isdisjoint(pending)):
                app.commit()  # this rule may read what the rules above it wrote
                app, pending = None, set()
            rule_started, rule_wall = self.timer(), self.wall()
            self.stats.evaluations += 1
            try:
                samples = rule.eval(at_ms, query, self.limit)
            except Exception as exc:  # a rule's failure is its health, not the group's end
                self.stats.failures += 1
                rule.status.record(exc, rule_wall, self.timer() - rule_started)
                continue
            if app is None:
                app = appender()
            error = self._write(index, samples, at_ms, app)
            pending |= self._writes[index]
            rule.status.record(error, rule_wall, self.timer() - rule_started)
            if isinstance(rule, AlertingRule) and notify is not None:
                due = alerts_to_send(rule, t_ms, self.interval_ms, self.resend_delay_ms)
                if due:
                    notify(due)
        if app is not None:
            app.commit()
        self.stats.iterations += 1
        self.stats.last_duration_s = self.timer() - started
        self.stats.last_evaluation_s = t_ms / 1000
        self.stats.last_evaluation_wall_s = started_wall

    def _write(self, index: int, samples: list[tuple[Labels, int, float]], at_ms: int,
               app: Appender) -> Exception | None:
        """Queue a rule's samples and its staleness markers (the caller commits)."""
        written: dict[Labels, None] = {}
        error: Exception | None = None
        for labels, ts, value in samples:
            try:
                app.append(labels, ts, value)
            except OutOfOrderSampleError as exc:
                error = exc  # counted against the rule's health, the rest is still written
                continue
            written[labels] = None
        for labels in self.previous[index]:
            if labels not in written:
                try:
                    app.append(labels, at_ms, STALE_NAN)
                except OutOfOrderSampleError:
                    pass  # a newer sample is already there: nothing to mark
        self.previous[index] = written
        return error

    def mark_all_stale(self, t_ms: int, appender: Callable[[], Appender]) -> None:
        """Staleness markers for everything the group wrote: it was removed by a reload."""
        app = appender()
        for series in self.previous:
            for labels in series:
                try:
                    app.append(labels, t_ms - self.query_offset_ms, STALE_NAN)
                except OutOfOrderSampleError:
                    pass
        app.commit()
        self.previous = [{} for _ in self.rules]

    def carry_over(self, old: Group) -> None:
        """Take over an unchanged rule's state (alerts, last series) from the group it replaces."""
        by_name: dict[tuple[str, str], list[int]] = {}
        for i, rule in enumerate(old.rules):
            by_name.setdefault((rule.kind, rule.name), []).append(i)
        for index, rule in enumerate(self.rules):
            candidates = by_name.get((rule.kind, rule.name), [])
            match = next((i for i in candidates if rule.same_definition(old.rules[i])), None)
            if match is None:
                continue
            candidates.remove(match)
            previous = old.rules[match]
            if isinstance(rule, AlertingRule) and isinstance(previous, AlertingRule):
                rule.carry_over(previous)
            else:
                rule.status = previous.status
            self.previous[index] = old.previous[match]
        self.stats = old.stats

    def restore_for_state(self, t_ms: int, last_for_state: Callable[[AlertingRule, int, int], Mapping[Labels,
                          tuple[int, float]]], outage_tolerance_ms: int, grace_period_ms: int) -> None:
        for rule in self.alerting_rules():
            found = last_for_state(rule, t_ms - outage_tolerance_ms, t_ms) if rule.hold_ms >= grace_period_ms else {}
            rule.restore(found, t_ms, outage_tolerance_ms, grace_period_ms)
