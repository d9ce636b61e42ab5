"""Which series a rule can read, so a group commits a rule's output only when a later rule may need it.

Prometheus commits each rule's samples before the next rule runs, so a rule
sees what the rules above it recorded in the same evaluation. Committing costs
a fixed amount per commit, and most groups never read their own output: when
no later rule can select what is pending, the samples wait and go in with the
next commit. A rule's reads are the metric names of its selectors; a selector
without an equality ``__name__`` matcher, ``info()`` (it reads info metrics it
does not name) and any alerting rule (its templates may ``query`` anything)
may read every series.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from metricslib.collector.model.labels import METRIC_NAME
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.parser.parse import parse_expr

__all__ = ["ANYTHING", "selected_names"]

#: What :func:`selected_names` returns for an expression that may read any series.
ANYTHING = None


def selected_names(expr: str) -> frozenset[str] | None:
    """The metric names ``expr`` selects, or ``None`` when it may select any series."""
    names: set[str] = set()
    try:
        parsed = parse_expr(expr, enable_experimental=False)
    except ValueError:
        return ANYTHING
    stack: list[object] = [parsed]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.VectorSelector):
            name = next((m.value for m in node.matchers if m.name == METRIC_NAME and m.op == "="), None)
            if name is None:
                return ANYTHING
            names.add(name)
        elif isinstance(node, ast.Call) and node.func == "info":
            return ANYTHING
        elif isinstance(node, tuple | list):
            stack.extend(node)
        elif is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in fields(node))
    return frozenset(names)
