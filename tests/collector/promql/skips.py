"""Which evals are not required, and why: native histograms and experimental features.

The store used by the runner also lives here, because deciding whether an eval
reads native histograms needs to know which loaded series held them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from metricslib.collector.model import Labels, labels_get, make_labels
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.parser.duration_expr import needs_step
from metricslib.collector.promql.parser.functions import EXPERIMENTAL_AGGREGATORS, FUNCTIONS
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.errors import QueryError
from tests.collector.promql.memstore import MemoryQuerier
from tests.collector.promql.script import HISTOGRAM, EvalCmd, LoadCmd

__all__ = ["FILE_SKIPS", "Store", "skip_reason", "walk"]

#: Whole files that exercise a feature Prometheus keeps behind a flag.
FILE_SKIPS = {
    "type_and_unit.test": "__type__/__unit__ labels are experimental (--enable-feature=type-and-unit-labels)",
}
_EXTENDED_SELECTORS = re.compile(r"\]\s*(anchored|smoothed)\b|\b(anchored|smoothed)\s*$|\w\s+(anchored|smoothed)\b")


def walk(expr: ast.Expr) -> Iterator[ast.Expr]:
    yield expr
    children: tuple[ast.Expr | None, ...]
    if isinstance(expr, ast.MatrixSelector):
        children = (expr.vector,)
    elif isinstance(expr, ast.SubqueryExpr | ast.ParenExpr | ast.UnaryExpr):
        children = (expr.expr,)
    elif isinstance(expr, ast.Call):
        children = expr.args
    elif isinstance(expr, ast.AggregateExpr):
        children = (expr.param, expr.expr)
    elif isinstance(expr, ast.BinaryExpr):
        children = (expr.lhs, expr.rhs)
    else:
        children = ()
    for child in children:
        if child is not None:
            yield from walk(child)


@dataclass(slots=True)
class Store:
    querier: MemoryQuerier = field(default_factory=MemoryQuerier)
    histogram_series: set[Labels] = field(default_factory=set)
    nhcb_series: set[Labels] = field(default_factory=set)

    def clear(self) -> None:
        self.querier.clear()
        self.histogram_series.clear()
        self.nhcb_series.clear()

    def load(self, cmd: LoadCmd) -> None:
        for labels, points in cmd.series:
            samples: list[tuple[int, float]] = []
            for i, p in enumerate(points):
                if p == HISTOGRAM:
                    self.histogram_series.add(labels)
                elif p is not None:
                    samples.append((i * cmd.interval_ms, float(p)))
            if samples:
                self.querier.add_series(labels, samples)
            if cmd.with_nhcb:
                self.nhcb_series.add(_nhcb_labels(labels))


def _nhcb_labels(labels: Labels) -> Labels:
    """The series load_with_nhcb derives from a classic histogram series."""
    name = labels_get(labels, "__name__")
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return make_labels([(k, name if k == "__name__" else v) for k, v in labels if k != "le"])


def _needs_step(node: ast.Expr) -> bool:
    exprs: tuple[ast.DurationExpr | None, ...] = ()
    if isinstance(node, ast.VectorSelector):
        exprs = (node.offset_expr,)
    elif isinstance(node, ast.MatrixSelector):
        exprs = (node.range_expr,)
    elif isinstance(node, ast.SubqueryExpr):
        exprs = (node.range_expr, node.step_expr, node.offset_expr)
    return any(e is not None and needs_step(e) for e in exprs)


def _selects(selector: ast.VectorSelector, series: set[Labels]) -> bool:
    return any(all(m.matches(labels_get(s, m.name)) for m in selector.matchers) for s in series)


def skip_reason(
    file_name: str,
    cmd: EvalCmd,
    store: Store,
    experimental: bool = False,
    resolves_step: bool = False,
    extended_selectors: bool = False,
) -> str | None:
    """Why ``cmd`` is not required, or None. ``experimental`` runs the evals that only
    need experimental functions (optional work) instead of skipping them."""
    if file_name in FILE_SKIPS:
        return FILE_SKIPS[file_name]
    if cmd.expected_histograms:
        return "expects native histogram results (out of scope)"
    if not extended_selectors and _EXTENDED_SELECTORS.search(cmd.expr):
        return "anchored/smoothed range selectors are experimental (promql-extended-range-selectors)"
    try:
        expr = parse_expr(cmd.expr, extended_range_selectors=True)
    except QueryError:
        return None  # a parse failure is judged by the eval itself
    for node in walk(expr):
        if not experimental:
            if isinstance(node, ast.Call) and FUNCTIONS[node.func].experimental:
                return f"{node.func}() is experimental (promql-experimental-functions)"
            if isinstance(node, ast.AggregateExpr) and node.op in EXPERIMENTAL_AGGREGATORS:
                return f"{node.op} is experimental (promql-experimental-functions)"
        if not (experimental or resolves_step) and _needs_step(node):
            return "step() in a duration expression is experimental and needs the engine to resolve it"
        if isinstance(node, ast.VectorSelector):
            if _selects(node, store.histogram_series):
                return "reads native histogram samples (out of scope)"
            if _selects(node, store.nhcb_series):
                return "reads histograms made by load_with_nhcb (native histograms, out of scope)"
    return None


