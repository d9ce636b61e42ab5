"""The rules manager's self-metrics, named and labelled as Prometheus's (``rule_group="FILE;NAME"``).

Dashboards and alerts written for Prometheus's own rule metrics work against
the collector unchanged. Read at scrape time from each group's counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from metricslib.collector.rules.group import Group
from metricslib.metric_families import CounterMetricFamily, GaugeMetricFamily
from metricslib.model import MetricFamily

__all__ = ["RuleMetrics"]


class RuleMetrics:
    """A custom collector (``collect()``) over the running groups."""

    def __init__(self, groups: Callable[[], Sequence[Group]]) -> None:
        self._groups = groups

    def collect(self) -> Iterable[MetricFamily]:
        groups = self._groups()
        label = ["rule_group"]
        families: list[tuple[type[CounterMetricFamily] | type[GaugeMetricFamily], str, str,
                             Callable[[Group], float]]] = [
            (CounterMetricFamily, "prometheus_rule_evaluations_total", "The total number of rule evaluations.",
             lambda g: g.stats.evaluations),
            (CounterMetricFamily, "prometheus_rule_evaluation_failures_total",
             "The total number of rule evaluation failures.", lambda g: g.stats.failures),
            (CounterMetricFamily, "prometheus_rule_group_iterations_missed_total",
             "The total number of rule group evaluations missed due to slow rule group evaluation.",
             lambda g: g.stats.iterations_missed),
            (CounterMetricFamily, "prometheus_rule_group_iterations_total",
             "The total number of scheduled rule group evaluations, whether executed or missed.",
             lambda g: g.stats.iterations + g.stats.iterations_missed),
            (GaugeMetricFamily, "prometheus_rule_group_last_duration_seconds",
             "The duration of the last rule group evaluation.", lambda g: g.stats.last_duration_s),
            (GaugeMetricFamily, "prometheus_rule_group_interval_seconds",
             "The interval of a rule group.", lambda g: g.interval_ms / 1000),
            (GaugeMetricFamily, "prometheus_rule_group_rules", "The number of rules.", lambda g: len(g.rules)),
            (GaugeMetricFamily, "prometheus_rule_group_last_evaluation_timestamp_seconds",
             "The timestamp of the last rule group evaluation in seconds.", lambda g: g.stats.last_evaluation_s),
        ]
        for kind, name, help_text, read in families:
            family = kind(name, help_text, labels=label)
            for group in groups:
                family.add_metric([f"{group.file};{group.name}"], read(group))
            yield family
