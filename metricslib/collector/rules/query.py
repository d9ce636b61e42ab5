"""Rules query through the PromQL engine: an instant query whose result must be a vector or scalar."""

from __future__ import annotations

from collections.abc import Callable

from metricslib.collector.model import Labels
from metricslib.collector.promql.engine import Engine
from metricslib.collector.rules.rule import QueryFunc

__all__ = ["engine_query"]


def engine_query(engine: Callable[[], Engine]) -> QueryFunc:
    """A :data:`QueryFunc` over a fresh engine per query (so each sees the latest commits)."""

    def query(expr: str, t_ms: int) -> list[tuple[Labels, float]]:
        result = engine().instant_query(expr, t_ms)
        if result.result_type == "vector":
            return [(s.labels, float(s.values[0])) for s in result.series]
        if result.result_type == "scalar" and isinstance(result.scalar_value, float):
            return [((), result.scalar_value)]
        raise ValueError("rule result is not a vector or scalar")

    return query
