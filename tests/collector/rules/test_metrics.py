"""Rule self-metrics: Prometheus's names, the rule_group label, values from group counters."""

from __future__ import annotations

from metricslib.collector.rules.group import Group
from metricslib.collector.rules.metrics import RuleMetrics
from metricslib.collector.rules.recording import RecordingRule
from metricslib.exposition import generate_latest
from metricslib.registry import Registry
from tests.collector.rules.fakes import one_rule


def test_families_are_named_and_labelled_as_prometheus() -> None:
    group = Group("g", "/r.yml", [RecordingRule(one_rule("- record: r\n  expr: up"))], 15_000)
    group.stats.evaluations, group.stats.failures, group.stats.iterations = 7, 2, 3
    group.stats.iterations_missed, group.stats.last_evaluation_s = 1, 1700000000.0
    registry = Registry()
    registry.register(RuleMetrics(lambda: [group]))
    text = generate_latest(registry).decode()
    label = '{rule_group="/r.yml;g"}'
    for line in (f"prometheus_rule_evaluations_total{label} 7.0",
                 f"prometheus_rule_evaluation_failures_total{label} 2.0",
                 f"prometheus_rule_group_iterations_missed_total{label} 1.0",
                 f"prometheus_rule_group_iterations_total{label} 4.0",
                 f"prometheus_rule_group_interval_seconds{label} 15.0",
                 f"prometheus_rule_group_rules{label} 1.0",
                 f"prometheus_rule_group_last_evaluation_timestamp_seconds{label} 1.7e+09"):
        assert line in text, line
    assert "# TYPE prometheus_rule_evaluations_total counter" in text
