"""A recording rule: its query's result, renamed and relabelled, becomes new series."""

from __future__ import annotations

from collections.abc import Mapping

from metricslib.collector.model import Labels
from metricslib.collector.model.labels import METRIC_NAME
from metricslib.collector.rules.rule import (
    QueryFunc,
    RuleStatus,
    Sample,
    canonical_expr,
    shown_expr,
)
from metricslib.collector.rules.rulefmt import Rule

__all__ = ["RecordingRule", "RuleEvalError"]


class RuleEvalError(Exception):
    """A rule evaluated but its result cannot be stored (duplicates, limit)."""


class RecordingRule:
    """``record: NAME`` over ``expr``: each result sample gets ``__name__`` and the rule's labels."""

    kind = "recording"

    def __init__(self, rule: Rule, group_labels: Mapping[str, str] | None = None) -> None:
        self.rule = rule
        self.name = rule.record
        self.query = shown_expr(rule.expr)  # shown in the API
        self.expr = canonical_expr(rule.expr)  # run
        # Group labels first: a rule's own label of the same name wins.
        self.labels: dict[str, str] = {**(group_labels or {}), **dict(rule.labels)}
        self.status = RuleStatus()

    def same_definition(self, other: object) -> bool:
        return isinstance(other, RecordingRule) and (self.name, self.query, self.labels) == (
            other.name, other.query, other.labels)

    def eval(self, t_ms: int, query: QueryFunc, limit: int = 0) -> list[Sample]:
        out: list[Sample] = []
        seen: set[Labels] = set()
        for labels, value in query(self.expr, t_ms):
            merged = {k: v for k, v in labels if k != METRIC_NAME}
            merged.update(self.labels)
            merged[METRIC_NAME] = self.name
            key = tuple(sorted((k, v) for k, v in merged.items() if v != ""))
            if key in seen:
                raise RuleEvalError("vector contains metrics with the same labelset after applying rule labels")
            seen.add(key)
            out.append((key, t_ms, value))
        if 0 < limit < len(out):
            raise RuleEvalError(f"exceeded limit of {limit} with {len(out)} series")
        return out
