"""A recording rule: its query's result, renamed and relabelled, becomes new series."""

from __future__ import annotations

from collections.abc import Mapping

from metricslib.collector.model import Labels, make_labels
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


_MAX_REMEMBERED = 100_000  # relabelled label sets per rule; forgotten all at once beyond this


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
        #: Query result label set -> recorded label set, kept between evaluations.
        self._renamed: dict[Labels, Labels] = {}

    def same_definition(self, other: object) -> bool:
        return isinstance(other, RecordingRule) and (self.name, self.query, self.labels) == (
            other.name, other.query, other.labels)

    def eval(self, t_ms: int, query: QueryFunc, limit: int = 0) -> list[Sample]:
        results = query(self.expr, t_ms)
        # The same series come back at every evaluation: relabel each label set once.
        renamed = self._renamed
        if len(renamed) > _MAX_REMEMBERED:
            renamed.clear()
        keys: list[Labels] = []
        for labels, _ in results:
            key = renamed.get(labels)
            if key is None:
                key = renamed[labels] = self._relabel(labels)
            keys.append(key)
        if len(set(keys)) != len(keys):
            raise RuleEvalError("vector contains metrics with the same labelset after applying rule labels")
        if 0 < limit < len(keys):
            raise RuleEvalError(f"exceeded limit of {limit} with {len(keys)} series")
        return [(key, t_ms, value) for key, (_, value) in zip(keys, results, strict=True)]

    def _relabel(self, labels: Labels) -> Labels:
        merged = {k: v for k, v in labels if k != METRIC_NAME}
        merged.update(self.labels)
        merged[METRIC_NAME] = self.name
        return make_labels(merged)
