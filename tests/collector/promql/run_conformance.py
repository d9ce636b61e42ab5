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
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.parser.printer import format_expr
from metricslib.errors import QueryError
from tests.collector.promql.compare import (
    Mismatch,
    Result,
    almost_equal,
    check_annotations,
    check_failure,
    compare,
    decode,
)
from tests.collector.promql.memstore import MemoryQuerier
from tests.collector.promql.script import ClearCmd, EvalCmd, LoadCmd, ScriptError, parse_script
from tests.collector.promql.skips import Store, skip_reason, walk

__all__ = [
    "DEFAULT_DIR",
    "EvalOutcome",
    "FileReport",
    "RunOptions",
    "almost_equal",
    "main",
    "run_file",
    "script_paths",
    "skip_summary",
    "summary_table",
]

DEFAULT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "promql"

_CONTEXT_FUNCS = re.compile(r"(start|end|range|step)\(\)")


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
    if any(isinstance(n, ast.Call) and n.func in _AT_UNSAFE for n in walk(expr)):
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
    decoded = decode(result)
    if cmd.range_vector is not None:
        start, end, step = cmd.range_vector
        compare(cmd, decoded, start_ms=start, end_ms=end, step_ms=step)
    else:
        compare(cmd, decoded, start_ms=t_ms, end_ms=t_ms, step_ms=0)
    if cmd.range_vector is not None or cmd.string is not None or _CONTEXT_FUNCS.search(query):
        return
    # The same query as a range query must agree at the evaluation time.
    try:
        ranged = decode(engine.range_query(query, t_ms - 60_000, t_ms + 60_000, 60_000))
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
        view = Result("scalar", scalar=at_t[0][2][0])
    else:
        view = Result("vector", series=at_t)
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
    compare(cmd, decode(result), start_ms=cmd.start_ms, end_ms=cmd.end_ms, step_ms=cmd.step_ms)


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


def run_eval(cmd: EvalCmd, store: Store, options: RunOptions) -> None:
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
    store = Store()
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

