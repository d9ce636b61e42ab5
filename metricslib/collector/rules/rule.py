"""What every rule shares: the query it runs, its health, last error and timing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from metricslib.collector.model import Labels
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.parser.pretty import text_242
from metricslib.collector.promql.parser.printer import format_expr

__all__ = ["HEALTH_BAD", "HEALTH_OK", "HEALTH_UNKNOWN", "QueryFunc", "RuleStatus", "Sample", "canonical_expr", "shown_expr"]

#: (expression, evaluation time in ms) → the instant vector, as (labels, value).
#: A scalar result is one sample with no labels. Raises on a failing query.
QueryFunc = Callable[[str, int], list[tuple[Labels, float]]]
#: One sample a rule writes: labels, time in ms, value.
Sample = tuple[Labels, int, float]

HEALTH_UNKNOWN, HEALTH_OK, HEALTH_BAD = "unknown", "ok", "err"


def canonical_expr(text: str) -> str:
    """The expression in the canonical spelling of ``printer.py``: what a rule queries."""
    return format_expr(parse_expr(text, enable_experimental=False))


def shown_expr(text: str) -> str:
    """The expression as Prometheus 2.42 shows a rule's (its ``String()``): in ``/api/v1/rules``
    and in the ``generatorURL`` of the rule's alerts, e.g. ``group_left ()`` and ``1e+06``."""
    return text_242(parse_expr(text, enable_experimental=False))


@dataclass
class RuleStatus:
    """Per-rule bookkeeping the API and self-metrics read."""

    health: str = HEALTH_UNKNOWN
    last_error: str = ""
    last_evaluation_s: float = 0.0  # Unix seconds; 0 = never
    evaluation_seconds: float = 0.0

    def record(self, error: Exception | None, at_s: float, took_s: float) -> None:
        self.health = HEALTH_BAD if error is not None else HEALTH_OK
        self.last_error = str(error) if error is not None else ""
        self.last_evaluation_s = at_s
        self.evaluation_seconds = took_s
