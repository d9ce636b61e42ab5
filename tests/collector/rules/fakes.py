"""Scripted queries and a recording appender for rule tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from metricslib.collector.model import Labels, make_labels
from metricslib.collector.rules.rulefmt import Rule, parse_rule_file


def lbl(**pairs: str) -> Labels:
    return make_labels(pairs)


@dataclass
class ScriptedQuery:
    """Returns, per query time, the vector set for it (empty when unset); records calls."""

    results: dict[int, list[tuple[Labels, float]]] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, expr: str, t_ms: int) -> list[tuple[Labels, float]]:
        self.calls.append((expr, t_ms))
        return list(self.results.get(t_ms, []))


def one_rule(text: str) -> Rule:
    """The single rule of a group written as YAML rule lines."""
    body = "\n".join("      " + line for line in text.strip().splitlines())
    rule_file, problems = parse_rule_file(f"groups:\n  - name: g\n    rules:\n{body}\n")
    assert not problems and rule_file is not None, problems
    return rule_file.groups[0].rules[0]
