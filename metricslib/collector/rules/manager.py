"""The rules runtime: loads rule files, runs each group on its own thread, swaps groups on reload.

A reload builds every new group first; only when all files load does it swap
them in, so a bad file leaves the running rules as they were (the error says
which file and why). A group whose definition did not change keeps running
untouched; a changed one takes over its predecessor's alert state and last
series; a removed one writes staleness markers for what it recorded.

At start-up, alerting rules restore ``for`` from ``ALERTS_FOR_STATE`` after
their group's first evaluation, as Prometheus does with
``--rules.alert.for-outage-tolerance`` (1h) and ``--rules.alert.for-grace-period``
(10m).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from metricslib.collector.config.config import Config
from metricslib.collector.model import Labels, Matcher
from metricslib.collector.model.labels import METRIC_NAME
from metricslib.collector.model.staleness import is_stale_nan
from metricslib.collector.notifier.alert import Alert
from metricslib.collector.rules.alerting import AlertingRule
from metricslib.collector.rules.group import AnyRule, Group
from metricslib.collector.rules.recording import RecordingRule
from metricslib.collector.rules.rule import QueryFunc
from metricslib.collector.rules.rulefmt import (
    Rule,
    RuleFileError,
    RuleGroup,
    load_rule_file,
    resolve_rule_files,
)
from metricslib.collector.rules.schedule import eval_timestamp_ns, next_evaluation
from metricslib.collector.rules.sending import DEFAULT_RESEND_DELAY_MS
from metricslib.collector.rules.templates import Expander, check_template, default_expander
from metricslib.collector.storage.base import Appender, Querier

__all__ = ["GroupRunner", "ManagerOptions", "RuleManager"]

_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class ManagerOptions:
    outage_tolerance_ms: int = 3_600_000
    grace_period_ms: int = 600_000
    resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS
    external_url: str = "http://127.0.0.1:9090"
    expander: Expander = default_expander
    utf8_names: bool = False


@dataclass
class GroupRunner:
    """One group's schedule; ``step`` is what the thread calls when it wakes (tests call it directly)."""

    group: Group
    definition: tuple[object, ...]
    should_restore: bool = False
    last_ns: int | None = None
    next_ns: int = 0
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def interval_ns(self) -> int:
        return self.group.interval_ms * _NS_PER_MS

    def schedule_from(self, now_ns: int) -> None:
        """The first evaluation: the next aligned time after ``now_ns``."""
        self.next_ns = eval_timestamp_ns(now_ns, self.interval_ns, self.group.hash) + self.interval_ns

    def step(self, now_ns: int, manager: RuleManager) -> None:
        """Evaluate at the due aligned time (counting iterations that fell behind)."""
        if self.last_ns is not None:
            self.next_ns, missed = next_evaluation(self.last_ns, now_ns, self.interval_ns)
            self.group.stats.iterations_missed += missed
        ts_ms = self.next_ns // _NS_PER_MS
        with self.group.lock:
            self.group.eval(ts_ms, manager.query, manager.appender, manager.notify)
            if self.should_restore:
                self.group.restore_for_state(ts_ms, manager.last_for_state, manager.options.outage_tolerance_ms,
                                             manager.options.grace_period_ms)
                self.should_restore = False
        self.last_ns = self.next_ns
        self.next_ns = self.last_ns + self.interval_ns


class RuleManager:
    """All rule groups of the running config."""

    def __init__(
        self,
        *,
        query: QueryFunc,
        appender: Callable[[], Appender],
        querier: Callable[[], Querier],
        notify: Callable[[Sequence[Alert]], None] | None = None,
        options: ManagerOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.query = query
        self.appender = appender
        self.querier = querier
        self.notify = notify
        self.options = options or ManagerOptions()
        self.clock = clock
        self._runners: dict[tuple[str, str], GroupRunner] = {}
        self._lock = threading.RLock()
        self._running = False
        self._restored = False
        #: The last reload's problems ("" when it succeeded), for the log and /-/reload.
        self.last_error = ""

    # --- loading -----------------------------------------------------------------------------

    def build_groups(self, config: Config) -> list[tuple[Group, tuple[object, ...]]]:
        """Every group of ``config``'s rule files, for :meth:`apply`; raises RuleFileError
        naming every bad file (and keeps it as ``last_error``)."""
        glob = config.global_config
        external = dict(glob.external_labels)
        problems: list[str] = []
        built: list[tuple[Group, tuple[object, ...]]] = []
        for path in resolve_rule_files(config.rule_files):
            try:
                rule_file = load_rule_file(path, template_check=check_template, utf8_names=self.options.utf8_names)
            except RuleFileError as exc:
                problems.extend(exc.problems)
                continue
            for spec in rule_file.groups:
                interval = spec.interval_ms or int(glob.evaluation_interval)
                offset = spec.query_offset_ms if spec.query_offset_ms is not None else int(glob.rule_query_offset)
                rules = [self._make_rule(r, spec, external) for r in spec.rules]
                group = Group(spec.name, path, rules, interval, query_offset_ms=offset, limit=spec.limit,
                              resend_delay_ms=self.options.resend_delay_ms, wall=self.clock)
                built.append((group, (spec, interval, offset, tuple(sorted(external.items())))))
        if problems:
            error = RuleFileError(problems[0].partition(": ")[0], problems)
            self.last_error = str(error)
            raise error
        self.last_error = ""
        return built

    def _make_rule(self, rule: Rule, spec: RuleGroup, external: Mapping[str, str]) -> AnyRule:
        group_labels = dict(spec.labels)
        if rule.is_alert:
            return AlertingRule(rule, group_labels, external, self.options.external_url, self.options.expander)
        return RecordingRule(rule, group_labels)

    def update(self, config: Config) -> None:
        """Load ``config``'s rules and swap them in; on any bad file raise and keep the old ones."""
        self.apply(self.build_groups(config))

    def apply(self, built: list[tuple[Group, tuple[object, ...]]]) -> None:
        """Swap in groups from :meth:`build_groups`: unchanged ones keep running, changed
        ones take over alert state, removed ones write staleness markers."""
        now_ns = int(self.clock() * 1e9)
        with self._lock:
            old = self._runners
            new: dict[tuple[str, str], GroupRunner] = {}
            for group, definition in built:
                previous = old.get(group.key)
                if previous is not None and previous.definition == definition:
                    new[group.key] = previous  # unchanged: keeps running as it is
                    continue
                runner = GroupRunner(group, definition, should_restore=not self._restored)
                if not self._restored:
                    for rule in group.alerting_rules():
                        rule.restored = False
                if previous is not None:
                    with previous.group.lock:
                        group.carry_over(previous.group)
                runner.schedule_from(now_ns)
                new[group.key] = runner
            self._restored = True
            self._runners = new
            for key, runner in old.items():
                if new.get(key) is runner:
                    continue
                self._stop_runner(runner)
                if key not in new:
                    with runner.group.lock:
                        runner.group.mark_all_stale(int(self.clock() * 1000), self.appender)
            if self._running:
                for runner in new.values():
                    if runner.thread is None:
                        self._start_runner(runner)

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._running = True
            for runner in self._runners.values():
                if runner.thread is None:
                    self._start_runner(runner)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            runners = list(self._runners.values())
        for runner in runners:
            self._stop_runner(runner)

    def _start_runner(self, runner: GroupRunner) -> None:
        thread = threading.Thread(target=self._loop, args=(runner,), name=f"rules-{runner.group.name}",
                                  daemon=True)
        runner.thread = thread
        thread.start()

    @staticmethod
    def _stop_runner(runner: GroupRunner) -> None:
        runner.stop_event.set()
        if runner.thread is not None and runner.thread is not threading.current_thread():
            runner.thread.join(timeout=30)

    def _loop(self, runner: GroupRunner) -> None:
        while True:
            wait_s = (runner.next_ns - int(self.clock() * 1e9)) / 1e9
            if runner.stop_event.wait(max(wait_s, 0.0)):
                return
            try:
                runner.step(int(self.clock() * 1e9), self)
            except Exception as exc:  # the store closing under us, a bug: keep the other groups going
                print(f"metricslib collector: rule group {runner.group.name!r} ({runner.group.file}): "
                      f"evaluation failed: {exc}", file=sys.stderr)
                runner.last_ns = runner.next_ns

    # --- reading -----------------------------------------------------------------------------

    def groups(self) -> list[Group]:
        """The running groups, in file order then as written."""
        with self._lock:
            return [r.group for r in self._runners.values()]

    def runners(self) -> list[GroupRunner]:
        with self._lock:
            return list(self._runners.values())

    def last_for_state(self, rule: AlertingRule, mint_ms: int, maxt_ms: int) -> dict[Labels, tuple[int, float]]:
        """The newest non-stale ALERTS_FOR_STATE sample of each of ``rule``'s alerts in the window."""
        matchers = [Matcher(METRIC_NAME, "=", "ALERTS_FOR_STATE"), Matcher("alertname", "=", rule.name)]
        out: dict[Labels, tuple[int, float]] = {}
        for series in self.querier().select(matchers, mint_ms, maxt_ms):
            if len(series.timestamps) == 0:
                continue
            value = float(series.values[-1])
            if is_stale_nan(value):
                continue  # it was resolved before the server went down
            key = tuple(p for p in series.labels if p[0] != METRIC_NAME)
            out[key] = (int(series.timestamps[-1]), value)
        return out

    def alerting_rules(self) -> Iterable[AlertingRule]:
        for group in self.groups():
            yield from group.alerting_rules()
