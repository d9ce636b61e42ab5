"""Run Prometheus's PromQL test scripts against our engine and report per file.

    .venv/bin/python -m tests.collector.promql.run_conformance [FILE...] [-n N] [-v]
        [--parse-only] [--ignore-annotations] [--no-at-variants] [--experimental]

FILE is a script name (``functions.test`` or ``functions``) or a path; by
default every script in ``../shared/conformance/promql/``. Results are
compared the way Prometheus's own ``promqltest`` does: series as sets (in
order only for ``expect ordered``), values with a relative tolerance of 1e-6,
NaN equal to NaN; instant evals are repeated as a range query around the
evaluation time and, like Prometheus, with ``@`` pinned on every selector at
several other evaluation times.

Evals are skipped, with the reason printed, when they need native histograms,
``load_with_nhcb`` or a feature Prometheus gates behind an experimental flag.
Without an engine (``--parse-only``, or before ``engine.py`` exists) each eval
is only parsed: that measures the parser alone.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from metricslib.collector.model import Labels, labels_get, make_labels
from metricslib.collector.promql import ast
from metricslib.collector.promql.duration_expr import needs_step
from metricslib.collector.promql.functions_table import EXPERIMENTAL_AGGREGATORS, FUNCTIONS
from metricslib.collector.promql.parser import parse_expr
from metricslib.collector.promql.printer import format_expr
from metricslib.errors import QueryError
from tests.collector.promql.memstore import MemoryQuerier
from tests.collector.promql.script import (
    HISTOGRAM,
    ClearCmd,
    EvalCmd,
    LoadCmd,
    ScriptError,
    parse_script,
)

__all__ = ["DEFAULT_DIR", "EvalOutcome", "FileReport", "main", "run_file", "script_paths"]

DEFAULT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "promql"

#: Whole files that exercise a feature Prometheus keeps behind a flag.
FILE_SKIPS = {
    "type_and_unit.test": "__type__/__unit__ labels are experimental (--enable-feature=type-and-unit-labels)",
}
_EXTENDED_SELECTORS = re.compile(r"\]\s*(anchored|smoothed)\b|\b(anchored|smoothed)\s*$|\w\s+(anchored|smoothed)\b")
_CONTEXT_FUNCS = re.compile(r"(start|end|range|step)\(\)")
_MIN_NORMAL = 2.2250738585072014e-308
_EPSILON = 1e-6


class EngineLike(Protocol):
    def instant_query(self, query: str, t_ms: int) -> Any: ...

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Any: ...


EngineFactory = Callable[[MemoryQuerier], EngineLike]


@dataclass(slots=True)
class EvalOutcome:
    line: int
    expr: str
    status: str  # "pass", "fail" or "skip"
    detail: str = ""


@dataclass(slots=True)
class FileReport:
    name: str
    outcomes: list[EvalOutcome] = field(default_factory=list)
    error: str = ""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> list[EvalOutcome]:
        return [o for o in self.outcomes if o.status == "fail"]


class Mismatch(Exception):
    """An eval's result differs from what the script expects."""


# --- comparison, following promqltest ------------------------------------------------------


def almost_equal(a: float, b: float, epsilon: float = _EPSILON) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < epsilon * _MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < epsilon


def _labels_str(labels: Labels) -> str:
    name = labels_get(labels, "__name__")
    rest = ", ".join(f'{k}="{v}"' for k, v in labels if k != "__name__")
    return f"{name}{{{rest}}}"


@dataclass(slots=True)
class _Result:
    """An engine result decoded from ``to_api()`` (the public contract)."""

    kind: str
    series: list[tuple[Labels, list[int], list[float]]] = field(default_factory=list)
    scalar: float = 0.0
    string: str = ""


def _decode(result: Any) -> _Result:
    api = result.to_api()
    kind = api["resultType"]
    if kind in ("scalar", "string"):
        _, text = api["result"]
        return _Result(kind, scalar=float(text) if kind == "scalar" else 0.0, string=text)
    out = _Result(kind)
    for item in api["result"]:
        labels = make_labels(item["metric"])
        points = [item["value"]] if kind == "vector" else item["values"]
        out.series.append((labels, [round(float(t) * 1000) for t, _ in points], [float(v) for _, v in points]))
    return out


def _expected_by_labels(cmd: EvalCmd) -> dict[Labels, tuple[list[Any], int]]:
    return {s.labels: (s.points, s.position) for s in cmd.series}


def compare(cmd: EvalCmd, res: _Result, *, start_ms: int, end_ms: int, step_ms: int) -> None:
    """Raise Mismatch when ``res`` differs from the eval's expectation."""
    expected = _expected_by_labels(cmd)
    if res.kind == "matrix":
        if cmd.is_ordered():
            raise Mismatch("expected ordered result, but query returned a matrix")
        if cmd.scalar is not None:
            raise Mismatch("expected scalar result, but got a matrix")
        labels_in_order = [s[0] for s in res.series]
        if labels_in_order != sorted(labels_in_order):
            raise Mismatch("matrix results should always be sorted by labels")
        seen = set()
        for labels, ts, vs in res.series:
            if labels not in expected:
                raise Mismatch(f"unexpected metric {_labels_str(labels)} in result, has {list(zip(ts, vs, strict=True))}")
            seen.add(labels)
            points, _ = expected[labels]
            want: list[tuple[int, float]] = []
            for i, p in enumerate(points):
                t = start_ms + i * step_ms
                if t > end_ms:
                    raise Mismatch(f"expected {len(points)} points for {_labels_str(labels)}, more than the range holds")
                if p is not None and p != HISTOGRAM:
                    want.append((t, float(p)))
            got = list(zip(ts, vs, strict=True))
            if len(want) != len(got):
                raise Mismatch(f"expected {len(want)} points for {_labels_str(labels)}, got {got}")
            for (wt, wv), (gt, gv) in zip(want, got, strict=True):
                if wt != gt or not almost_equal(wv, gv):
                    raise Mismatch(f"{_labels_str(labels)}: expected {wv} at t={wt}, got {gv} at t={gt}")
        missing = [s for s in expected if s not in seen]
        if missing:
            raise Mismatch(f"expected metric {_labels_str(missing[0])} not found")
    elif res.kind == "vector":
        if cmd.scalar is not None:
            raise Mismatch(f"expected scalar result, but got vector of {len(res.series)} series")
        seen = set()
        for pos, (labels, _, vs) in enumerate(res.series):
            if labels not in expected:
                raise Mismatch(f"unexpected metric {_labels_str(labels)} in result, has value {vs[0]}")
            points, want_pos = expected[labels]
            if cmd.is_ordered() and want_pos != pos + 1:
                raise Mismatch(f"expected metric {_labels_str(labels)} at position {want_pos} but was at {pos + 1}")
            first = points[0]
            if first is None or first == HISTOGRAM or not almost_equal(float(first), vs[0]):
                raise Mismatch(f"expected {first} for {_labels_str(labels)} but got {vs[0]}")
            seen.add(labels)
        missing = [s for s in expected if s not in seen]
        if missing:
            raise Mismatch(f"expected metric {_labels_str(missing[0])} with {expected[missing[0]][0]} not found")
    elif res.kind == "scalar":
        if cmd.scalar is None:
            raise Mismatch(f"expected vector or matrix result, but got scalar {res.scalar}")
        if not almost_equal(cmd.scalar, res.scalar):
            raise Mismatch(f"expected scalar {cmd.scalar} but got {res.scalar}")
    elif res.kind == "string":
        # As in promqltest, a missing "expect string" line means the empty string.
        if (cmd.string or "") != res.string:
            raise Mismatch(f'expected string "{cmd.string or ""}" but got "{res.string}"')
    else:
        raise Mismatch(f"unknown result type {res.kind!r}")


def check_annotations(cmd: EvalCmd, warnings: Sequence[str], infos: Sequence[str]) -> None:
    if cmd.warn and not warnings:
        raise Mismatch("expected warnings but got none")
    if cmd.info and not infos:
        raise Mismatch("expected info annotations but got none")
    for kind, actual in (("warn", warnings), ("info", infos)):
        wanted = cmd.of_kind(kind)
        if not wanted:
            continue
        if not actual:
            raise Mismatch(f"expected {kind} annotations but none were found")
        for e in wanted:
            if not any(e.matches(a) for a in actual):
                raise Mismatch(f"expected {kind} annotation matching {e.message or e.regex!r}, found {list(actual)}")
        for a in actual:
            if not any(e.matches(a) for e in wanted):
                raise Mismatch(f"unexpected {kind} annotation {a!r}")
    if cmd.of_kind("no_warn") and warnings:
        raise Mismatch(f"unexpected warning annotations: {list(warnings)}")
    if cmd.of_kind("no_info") and infos:
        raise Mismatch(f"unexpected info annotations: {list(infos)}")


def check_failure(cmd: EvalCmd, error: Exception) -> None:
    text = str(error)
    for e in cmd.of_kind("fail")[:1]:
        if not e.matches(text):
            wanted = e.message if e.message is not None else e.regex
            raise Mismatch(f"expected error matching {wanted!r}, but got: {text}")


# --- skipping ----------------------------------------------------------------------------


def _walk(expr: ast.Expr) -> Iterator[ast.Expr]:
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
            yield from _walk(child)


@dataclass(slots=True)
class _Store:
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
    store: _Store,
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
    for node in _walk(expr):
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


# --- running -----------------------------------------------------------------------------


def _pin_at(expr: ast.Expr, t_ms: int) -> ast.Expr:
    """Set ``@ t`` on every selector outside subqueries that already carry ``@``."""
    if isinstance(expr, ast.VectorSelector):
        return expr if expr.at is not None else replace(expr, at=t_ms)
    if isinstance(expr, ast.MatrixSelector):
        return replace(expr, vector=_pin_at(expr.vector, t_ms))  # type: ignore[arg-type]
    if isinstance(expr, ast.SubqueryExpr):
        if expr.at is not None:
            return expr
        return replace(expr, at=t_ms)
    if isinstance(expr, ast.ParenExpr | ast.UnaryExpr):
        return replace(expr, expr=_pin_at(expr.expr, t_ms))
    if isinstance(expr, ast.Call):
        return replace(expr, args=tuple(_pin_at(a, t_ms) for a in expr.args))
    if isinstance(expr, ast.AggregateExpr):
        param = None if expr.param is None else _pin_at(expr.param, t_ms)
        return replace(expr, expr=_pin_at(expr.expr, t_ms), param=param)
    if isinstance(expr, ast.BinaryExpr):
        return replace(expr, lhs=_pin_at(expr.lhs, t_ms), rhs=_pin_at(expr.rhs, t_ms))
    return expr


# Functions whose result depends on the evaluation time even when every selector is
# pinned with @: Prometheus does not run the @ variants for them.
_AT_UNSAFE = frozenset({"days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour",
                        "minute", "month", "year", "predict_linear", "time", "timestamp"})  # fmt: skip


def _at_variants(cmd: EvalCmd) -> list[tuple[str, int]]:
    try:
        expr = parse_expr(cmd.expr, extended_range_selectors=True)
    except QueryError:
        return []  # an expected parse failure has been checked already
    if any(isinstance(n, ast.Call) and n.func in _AT_UNSAFE for n in _walk(expr)):
        return []
    t = cmd.start_ms
    pinned = format_expr(_pin_at(expr, t))
    times = [-10 * t, 0, t // 5, t, 10 * t] if t else [-1000, 0, 1000]
    return [(pinned, et) for et in times]


def _run_instant(engine: EngineLike, cmd: EvalCmd, query: str, t_ms: int, ignore_annotations: bool) -> None:
    try:
        result = engine.instant_query(query, t_ms)
    except QueryError as exc:
        if cmd.is_fail():
            check_failure(cmd, exc)
            return
        raise Mismatch(f"error evaluating query {query!r} at {t_ms}ms: {exc}") from None
    if cmd.is_fail():
        raise Mismatch(f"expected error evaluating query {query!r} but got none")
    if not ignore_annotations:
        check_annotations(cmd, list(getattr(result, "warnings", [])), list(getattr(result, "infos", [])))
    decoded = _decode(result)
    if cmd.range_vector is not None:
        start, end, step = cmd.range_vector
        compare(cmd, decoded, start_ms=start, end_ms=end, step_ms=step)
    else:
        compare(cmd, decoded, start_ms=t_ms, end_ms=t_ms, step_ms=0)
    if cmd.range_vector is not None or cmd.string is not None or _CONTEXT_FUNCS.search(query):
        return
    # The same query as a range query must agree at the evaluation time.
    try:
        ranged = _decode(engine.range_query(query, t_ms - 60_000, t_ms + 60_000, 60_000))
    except QueryError as exc:
        raise Mismatch(f"error evaluating query {query!r} in range mode: {exc}") from None
    if cmd.is_ordered():
        return
    if ranged.kind != "matrix":
        raise Mismatch(f"range query returned {ranged.kind}, not a matrix")
    labels_in_order = [s[0] for s in ranged.series]
    if labels_in_order != sorted(labels_in_order):
        raise Mismatch("range mode: matrix results should always be sorted by labels")
    at_t = [(lb, [t_ms], [vs[ts.index(t_ms)]]) for lb, ts, vs in ranged.series if t_ms in ts]
    if decoded.kind == "scalar":
        if not at_t:
            raise Mismatch("range mode: no point at the evaluation time")
        view = _Result("scalar", scalar=at_t[0][2][0])
    else:
        view = _Result("vector", series=at_t)
    try:
        compare(cmd, view, start_ms=t_ms, end_ms=t_ms, step_ms=0)
    except Mismatch as exc:
        raise Mismatch(f"range mode: {exc}") from None


def _run_range(engine: EngineLike, cmd: EvalCmd, ignore_annotations: bool) -> None:
    try:
        result = engine.range_query(cmd.expr, cmd.start_ms, cmd.end_ms, cmd.step_ms)
    except QueryError as exc:
        if cmd.is_fail():
            check_failure(cmd, exc)
            return
        raise Mismatch(f"error evaluating query: {exc}") from None
    if cmd.is_fail():
        raise Mismatch("expected error evaluating query but got none")
    if not ignore_annotations:
        check_annotations(cmd, list(getattr(result, "warnings", [])), list(getattr(result, "infos", [])))
    compare(cmd, _decode(result), start_ms=cmd.start_ms, end_ms=cmd.end_ms, step_ms=cmd.step_ms)


def _run_parse_only(cmd: EvalCmd) -> None:
    try:
        parse_expr(cmd.expr)
    except QueryError as exc:
        if cmd.is_fail():
            check_failure(cmd, exc)
            return
        raise Mismatch(str(exc)) from None


@dataclass(slots=True)
class RunOptions:
    engine_factory: EngineFactory | None
    ignore_annotations: bool = False
    at_variants: bool = True
    experimental: bool = False
    #: the engine resolves step() in duration expressions (detected: see engine_resolves_step)
    resolves_step: bool = False
    #: the engine implements anchored/smoothed (detected: see engine_supports_extended_selectors)
    extended_selectors: bool = False


def run_eval(cmd: EvalCmd, store: _Store, options: RunOptions) -> None:
    if options.engine_factory is None:
        _run_parse_only(cmd)
        return
    engine = options.engine_factory(store.querier)
    if not cmd.instant:
        _run_range(engine, cmd, options.ignore_annotations)
        return
    t = cmd.range_vector[1] if cmd.range_vector is not None else cmd.start_ms
    _run_instant(engine, cmd, cmd.expr, t, options.ignore_annotations)
    if options.at_variants and cmd.range_vector is None:
        for query, at_time in _at_variants(cmd):
            try:
                _run_instant(engine, cmd, query, at_time, options.ignore_annotations)
            except Mismatch as exc:
                raise Mismatch(f"with @ pinned ({query} evaluated at {at_time}ms): {exc}") from None


def run_file(path: Path, options: RunOptions) -> FileReport:
    report = FileReport(path.name)
    try:
        commands = parse_script(path.read_text(encoding="utf-8"))
    except ScriptError as exc:
        report.error = f"cannot parse script: {exc}"
        return report
    store = _Store()
    for command in commands:
        if isinstance(command, ClearCmd):
            store.clear()
        elif isinstance(command, LoadCmd):
            store.load(command)
        else:
            reason = skip_reason(
                path.name, command, store, options.experimental, options.resolves_step, options.extended_selectors
            )
            if reason is not None:
                report.outcomes.append(EvalOutcome(command.line, command.expr, "skip", reason))
                continue
            try:
                run_eval(command, store, options)
            except Mismatch as exc:
                report.outcomes.append(EvalOutcome(command.line, command.expr, "fail", str(exc)))
            except Exception as exc:  # an engine crash must not hide the other evals
                where = traceback.extract_tb(exc.__traceback__)[-1]
                detail = f"crashed: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
                report.outcomes.append(EvalOutcome(command.line, command.expr, "fail", detail))
            else:
                report.outcomes.append(EvalOutcome(command.line, command.expr, "pass"))
    return report


def script_paths(names: Sequence[str] = ()) -> list[Path]:
    if not names:
        return sorted(DEFAULT_DIR.glob("*.test"))
    paths = []
    for name in names:
        p = Path(name)
        if not p.exists():
            p = DEFAULT_DIR / (name if name.endswith(".test") else f"{name}.test")
        paths.append(p)
    return paths


def default_engine_factory() -> EngineFactory | None:
    """The real engine, or None while ``engine.py`` does not exist yet."""
    try:
        from metricslib.collector.promql.engine import Engine
    except ImportError:
        return None

    def make(querier: MemoryQuerier) -> EngineLike:
        return Engine(querier, timeout_s=60.0, lookback_delta_ms=300_000)

    return make


def engine_resolves_step() -> bool:
    """Whether the engine uses ``resolve_durations`` (so step() duration expressions work)."""
    try:
        from metricslib.collector.promql import engine
    except ImportError:
        return False
    return "resolve_durations" in vars(engine)


def engine_supports_extended_selectors() -> bool:
    """Whether the engine declares ``EXTENDED_RANGE_SELECTORS = True`` (anchored/smoothed)."""
    try:
        from metricslib.collector.promql import engine
    except ImportError:
        return False
    return bool(getattr(engine, "EXTENDED_RANGE_SELECTORS", False))


def format_report(report: FileReport, max_failures: int, verbose: bool) -> str:
    lines = [f"== {report.name}: {report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped"]
    if report.error:
        lines.append(f"   ERROR {report.error}")
    for o in report.failures[:max_failures]:
        lines.append(f"   FAIL line {o.line}: {o.expr}\n        {o.detail}")
    if len(report.failures) > max_failures:
        lines.append(f"   ... {len(report.failures) - max_failures} more failures")
    by_reason: dict[str, list[int]] = {}
    for o in report.outcomes:
        if o.status == "skip":
            by_reason.setdefault(o.detail, []).append(o.line)
    for reason, where in by_reason.items():
        shown = where if verbose else where[:8]
        more = "" if len(shown) == len(where) else f", ... ({len(where)} in all)"
        lines.append(f"   SKIP {len(where)} x {reason}: lines {', '.join(map(str, shown))}{more}")
    return "\n".join(lines)


def summary_table(reports: Sequence[FileReport]) -> str:
    width = max([len(r.name) for r in reports] + [5])
    rows = [f"{'file':<{width}}  {'passed':>6}  {'failed':>6}  {'skipped':>7}"]
    totals: Counter[str] = Counter()
    for r in reports:
        counts = {s: r.count(s) for s in ("pass", "fail", "skip")}
        totals.update(counts)
        mark = "  (script error)" if r.error else ""
        rows.append(f"{r.name:<{width}}  {counts['pass']:>6}  {counts['fail']:>6}  {counts['skip']:>7}{mark}")
    rows.append(f"{'TOTAL':<{width}}  {totals['pass']:>6}  {totals['fail']:>6}  {totals['skip']:>7}")
    return "\n".join(rows)


def skip_summary(reports: Sequence[FileReport]) -> str:
    """Skipped evals over all files, by reason (experimental function names grouped)."""
    reasons: Counter[str] = Counter()
    for r in reports:
        for o in r.outcomes:
            if o.status == "skip":
                reasons[re.sub(r"^\S+ is experimental", "an experimental function", o.detail)] += 1
    return "\n".join(f"{n:>5} skipped: {reason}" for reason, n in reasons.most_common())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="script names or paths (default: all)")
    ap.add_argument("-n", "--max-failures", type=int, default=10, help="failures shown per file")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every skipped line")
    ap.add_argument("--parse-only", action="store_true", help="only parse each eval's expression")
    ap.add_argument("--ignore-annotations", action="store_true", help="do not check warn/info lines")
    ap.add_argument("--no-at-variants", action="store_true", help="skip the @-pinned re-runs")
    ap.add_argument("--experimental", action="store_true", help="also run evals of experimental functions")
    args = ap.parse_args(argv)
    factory = None if args.parse_only else default_engine_factory()
    if factory is None:
        print("parse-only mode: each eval's expression is parsed, not evaluated\n")
    options = RunOptions(
        factory,
        args.ignore_annotations,
        not args.no_at_variants,
        args.experimental,
        engine_resolves_step(),
        engine_supports_extended_selectors(),
    )
    reports = []
    for path in script_paths(args.files):
        if not path.is_file():
            print(f"no such script: {path}", file=sys.stderr)
            return 2
        report = run_file(path, options)
        reports.append(report)
        print(format_report(report, args.max_failures, args.verbose))
    print()
    print(summary_table(reports))
    print()
    print(skip_summary(reports))
    return 0 if all(r.count("fail") == 0 and not r.error for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())

