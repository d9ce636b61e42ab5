"""The PromQL engine: evaluates a parsed query against a :class:`Querier`.

Every node is evaluated once for *all* evaluation times of the query (one
column per step), not step by step: a selector loads each series once for the
whole range and finds the sample of every step with one ``searchsorted``; range
functions compute all their windows per series with numpy. An instant query is
simply a range query with a single time. A step-invariant part of a range query
(every selector pinned with ``@``) is evaluated at the first time and repeated.
``max_samples`` limits the samples held at one moment, as Prometheus 2.42 counts
them (``peak.py``).

Semantics follow Prometheus 3: 5-minute lookback (configurable) with staleness
markers, left-open range windows, ``offset`` and ``@`` (incl. ``start()``/
``end()``), subquery steps aligned to absolute multiples of the step, and
delayed ``__name__`` removal (names are dropped when the query finishes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np

from metricslib.collector.model import METRIC_NAME, STALE_NAN_BITS, Labels, Matcher, SeriesBatch
from metricslib.collector.model.quoting import go_quote
from metricslib.collector.promql.aggregations import aggregate
from metricslib.collector.promql.binary import (
    scalar_binary,
    vector_scalar_binary,
    vector_vector_binary,
)
from metricslib.collector.promql.functions import (
    INFO_IDENTIFYING_LABELS,
    RANGE_FUNCTIONS,
    CallContext,
    call_function,
    info_enrich,
    valid_label_name,
)
from metricslib.collector.promql.gate import QueryGate
from metricslib.collector.promql.parser import ast
from metricslib.collector.promql.parser.duration_expr import resolve_durations
from metricslib.collector.promql.peak import (
    MIN_POINTS,
    closed_from_open,
    closed_window_counts,
    range_call_peak,
    step_invariant,
    step_peak,
)
from metricslib.collector.promql.values import (
    Annotations,
    Block,
    FloatArray,
    IntArray,
    QueryResult,
    RangeArg,
    ResultSeries,
    drop_metric_name,
)
from metricslib.collector.storage.base import Querier
from metricslib.errors import (
    PromQLParseError,
    QueryExecutionError,
    QueryTimeoutError,
    TooManySamplesError,
)
from metricslib.model import LABEL_NAME_RE

__all__ = ["Engine", "QueryResult"]

Value = Block | FloatArray | str

MAX_POINTS_PER_SERIES = 11_000
#: Series x steps cells a selector resolves at once (its work arrays take ~40 bytes a cell).
CELLS_PER_CHUNK = 1_000_000
#: Subquery steps evaluated at once: the first slice, and the most once the series are known.
SUBQUERY_FIRST_SLICE = 11_000
SUBQUERY_MAX_SLICE = 1_000_000


@lru_cache(maxsize=256)
def _parse(query: str, step_ms: int, experimental: bool) -> ast.Expr:
    """Parse, then fix duration expressions that use ``step()`` (0 for instant queries).

    Cached by query text: dashboards send the same few queries over and over,
    and the AST is immutable. Errors are raised again each time (not cached).
    """
    from metricslib.collector.promql.parser.parse import parse_expr

    expr = parse_expr(query, enable_experimental=experimental)
    try:
        return resolve_durations(expr, step_ms)
    except ValueError as exc:
        raise QueryExecutionError(str(exc)) from exc


def _steps(start_ms: int, end_ms: int, step_ms: int) -> IntArray:
    """start, start + step, ... up to end inclusive; counted in integers (np.arange
    counts in floating point, which drops the last step of very wide ranges)."""
    n = max((end_ms - start_ms) // step_ms + 1, 0)
    return start_ms + np.arange(n, dtype=np.int64) * step_ms


def _unwrap(expr: ast.Expr) -> ast.Expr:
    while isinstance(expr, ast.ParenExpr):
        expr = expr.expr
    return expr


def _fill(out: np.ndarray, at: int, parts: list[Any]) -> None:
    """Copy ``parts`` one after another into ``out`` from ``at``, releasing each once copied."""
    for k, part in enumerate(parts):
        out[at : at + len(part)] = part
        at += len(part)
        parts[k] = None


def _is_stale(values: FloatArray) -> np.ndarray:
    return np.asarray(values.view(np.uint64) == np.uint64(STALE_NAN_BITS))


class Engine:
    """Instant and range queries with a time limit and a cap on loaded samples."""

    def __init__(
        self,
        querier: Querier,
        *,
        timeout_s: float = 120.0,
        max_samples: int = 50_000_000,
        lookback_delta_ms: int = 300_000,
        default_subquery_step_ms: int = 60_000,
        enable_experimental: bool = True,
        gate: QueryGate | None = None,
    ) -> None:
        """``enable_experimental`` admits what Prometheus 3 gates behind
        ``--enable-feature=promql-experimental-functions`` (``limitk``,
        ``sort_by_label``, duration expressions, ...); the collector turns it off
        unless asked, so queries that work here work on a stock Prometheus."""
        self.querier = querier
        self.gate = gate  # shared by a server's queries: at most so many run at once
        self.enable_experimental = enable_experimental
        self.timeout_s = timeout_s
        self.max_samples = max_samples
        self.lookback_delta_ms = lookback_delta_ms
        self.default_subquery_step_ms = default_subquery_step_ms

    def instant_query(self, query: str, t_ms: int) -> QueryResult:
        ev = _Evaluator(self, t_ms, t_ms, 0)
        with self._slot(ev):
            result = self._instant(ev, query, t_ms)
        result.warnings, result.infos = ev.notes.warnings, ev.notes.infos
        result.samples_loaded = ev.peak
        return result

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        ev = _Evaluator(self, start_ms, end_ms, step_ms)
        with self._slot(ev):
            result = self._range(ev, query, start_ms, end_ms, step_ms)
        result.warnings, result.infos = ev.notes.warnings, ev.notes.infos
        result.samples_loaded = ev.peak
        return result

    def _slot(self, ev: _Evaluator) -> AbstractContextManager[None]:
        # The wait in line counts against the query's timeout, as in Prometheus.
        return nullcontext() if self.gate is None else self.gate.slot(ev.deadline)

    def _instant(self, ev: _Evaluator, query: str, t_ms: int) -> QueryResult:
        expr = _parse(query, 0, self.enable_experimental)
        times = np.array([t_ms], dtype=np.int64)
        inner = _unwrap(expr)
        if isinstance(inner, ast.MatrixSelector | ast.SubqueryExpr):
            rng = ev.eval_range(inner, times)
            if isinstance(inner, ast.MatrixSelector):  # a subquery counted its points already
                ev.count_samples(int(closed_window_counts(rng.batch, rng.ends, rng.range_ms).sum()))
            return ev.matrix_result(rng)
        value = ev.eval(expr, times)
        if isinstance(value, str):
            return QueryResult("string", scalar_time_ms=t_ms, scalar_value=value)
        if isinstance(value, np.ndarray):
            return QueryResult("scalar", scalar_time_ms=t_ms, scalar_value=float(value[0]))
        block = ev.finish(value)
        # Whole columns to Python at once, not one numpy scalar per series.
        series = [
            ResultSeries(lbl, [t_ms], [value])
            for lbl, value, present in zip(
                block.labels, block.values[:, 0].tolist(), block.present[:, 0].tolist(), strict=True)
            if present
        ]
        return QueryResult("vector", series)

    def _range(self, ev: _Evaluator, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        if step_ms <= 0:
            raise PromQLParseError("zero or negative query resolution step widths are not accepted. "
                                   "Try a positive integer")
        if end_ms < start_ms:
            raise PromQLParseError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms > MAX_POINTS_PER_SERIES:
            # Same cap as Prometheus's API: it bounds memory, one column per step.
            raise PromQLParseError(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        expr = _parse(query, step_ms, self.enable_experimental)
        inner = _unwrap(expr)
        if isinstance(inner, ast.MatrixSelector | ast.SubqueryExpr):
            raise PromQLParseError(
                'invalid expression type "range vector" for range query, must be Scalar or instant Vector'
            )
        if isinstance(inner, ast.StringLiteral):
            raise PromQLParseError(
                'invalid expression type "string" for range query, must be Scalar or instant Vector'
            )
        times = _steps(start_ms, end_ms, step_ms)
        value = ev.eval(expr, times)
        if isinstance(value, str):
            raise PromQLParseError(
                'invalid expression type "string" for range query, must be Scalar or instant Vector'
            )
        if isinstance(value, np.ndarray):
            return QueryResult("matrix", [ResultSeries((), times.tolist(), value.tolist())])
        block = ev.finish(value)
        out: list[ResultSeries] = []
        # Series present at every step share one timestamp list (result_json formats it once).
        every_step = times.tolist()
        full: list[bool] = np.asarray(block.present.all(axis=1)).tolist()
        for i, lbl in enumerate(block.labels):
            if full[i]:
                out.append(ResultSeries(lbl, every_step, block.values[i]))
            else:  # finish() dropped rows never present
                mask = block.present[i]
                out.append(ResultSeries(lbl, times[mask].tolist(), block.values[i, mask]))
        out.sort(key=lambda s: s.labels)
        return QueryResult("matrix", out)


class _Evaluator:
    """State of one query: its time span, deadline and sample budget."""

    def __init__(self, engine: Engine, start_ms: int, end_ms: int, step_ms: int) -> None:
        self.querier = engine.querier
        self.lookback = engine.lookback_delta_ms
        self.max_samples = engine.max_samples
        self.subquery_default_step = engine.default_subquery_step_ms
        self.start = start_ms
        self.end = end_ms
        self.deadline = time.monotonic() + engine.timeout_s
        # Samples held now and at most, as Prometheus 2.42 counts them (see peak.py).
        self.samples = 0
        self.peak = 0
        self.notes = Annotations()
        self._selected: dict[tuple[tuple[Matcher, ...], int, int], SeriesBatch] = {}

    # --- bookkeeping ------------------------------------------------------------------------

    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise QueryTimeoutError("query timed out in expression evaluation")

    def count_samples(self, n: int) -> None:
        """Hold ``n`` more samples (until a reader sets :attr:`samples` back)."""
        self.samples += n
        self.check_held(self.samples)

    def check_held(self, held: int) -> None:
        """``held`` samples at one moment: the peak so far, and the limit."""
        self.peak = max(self.peak, held)
        if held > self.max_samples:
            raise TooManySamplesError(
                "query processing would load too many samples into memory in query execution"
            )

    def stepwise(self, base: int, inputs: Sequence[Value], result: Value, n: int) -> None:
        """Account for a node Prometheus evaluates step by step over its evaluated
        ``inputs``: held beyond them, each step's input points and the results so far;
        afterwards only its results stay held (from ``base``, before the inputs)."""
        per_step = np.zeros(n, dtype=np.int64)
        for value in inputs:
            if isinstance(value, Block):
                per_step += value.present.sum(axis=0)
            elif isinstance(value, np.ndarray):
                per_step += 1  # a scalar has a point at every step
        if isinstance(result, Block):
            results = result.present.sum(axis=0).astype(np.int64)
        else:
            results = np.full(n, int(isinstance(result, np.ndarray)), dtype=np.int64)
        self.check_held(self.samples + step_peak(per_step, results))
        self.samples = base + int(results.sum())

    def finish(self, block: Block) -> Block:
        """Apply delayed name removal; equal label sets at one time are an error."""
        if any(block.drop_name):
            labels = [drop_metric_name(lbl) if d else lbl for lbl, d in zip(block.labels, block.drop_name, strict=True)]
            block = Block(labels, block.values, block.present, [False] * len(labels))
        return block.compact().consolidate()

    def matrix_result(self, rng: RangeArg) -> QueryResult:
        out: list[ResultSeries] = []
        for s in rng.series:
            self.check_deadline()
            lo, hi = rng.bounds(s)
            a, b = int(lo[0]), int(hi[0])
            if b > a:
                labels = drop_metric_name(s.labels) if s.drop_name else s.labels
                # Views, not lists: a big matrix must not become millions of Python objects.
                out.append(ResultSeries(labels, s.timestamps[a:b], s.values[a:b]))
        out.sort(key=lambda r: r.labels)
        seen: set[Labels] = set()
        for r in out:
            if r.labels in seen:
                raise QueryExecutionError("vector cannot contain metrics with the same labelset")
            seen.add(r.labels)
        return QueryResult("matrix", out)

    def effective_times(self, at: ast.AtModifier, offset_ms: int, times: IntArray) -> IntArray:
        if at is None:
            return times - offset_ms
        if at == "start":
            base = self.start
        elif at == "end":
            base = self.end
        else:
            base = int(at)
        return np.full(len(times), base - offset_ms, dtype=np.int64)

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        """Non-empty series from storage; a query that names the same selection twice loads it once."""
        key = (tuple(matchers), mint, maxt)
        found = self._selected.get(key)
        if found is None:
            select_batch = getattr(self.querier, "select_batch", None)
            if select_batch is not None:  # the store's flat form: no per-series arrays
                found = select_batch(list(matchers), mint, maxt)
            else:
                found = SeriesBatch.of(self.querier.select(list(matchers), mint, maxt))
            self._selected[key] = found
        return found

    # --- evaluation -------------------------------------------------------------------------

    def eval(self, expr: ast.Expr, times: IntArray) -> Value:
        self.check_deadline()
        n = len(times)
        if n > 1 and not isinstance(expr, ast.NumberLiteral | ast.StringLiteral) and step_invariant(expr):
            return self._once(expr, times)
        return self._eval(expr, times)

    def _once(self, expr: ast.Expr, times: IntArray) -> Value:
        """A step-invariant expression: evaluated at the first time and repeated, as
        Prometheus does; the repeated points are counted as they are made."""
        n = len(times)
        base = self.samples
        value = self._eval(expr, times[:1])
        if isinstance(value, str):
            return value
        self.count_samples((self.samples - base) * (n - 1))
        if isinstance(value, np.ndarray):
            return np.repeat(value, n)
        return Block(list(value.labels), np.repeat(value.values, n, axis=1), np.repeat(value.present, n, axis=1),
                     list(value.drop_name))  # fmt: skip

    def _eval(self, expr: ast.Expr, times: IntArray) -> Value:
        if isinstance(expr, ast.NumberLiteral):
            self.count_samples(len(times))
            return np.full(len(times), float(expr.value))
        if isinstance(expr, ast.StringLiteral):
            return expr.value
        if isinstance(expr, ast.ParenExpr):
            return self.eval(expr.expr, times)
        if isinstance(expr, ast.UnaryExpr):
            return self._unary(expr, times)
        if isinstance(expr, ast.VectorSelector):
            return self.select_vector(expr, times)
        if isinstance(expr, ast.Call):
            return self._call(expr, times)
        if isinstance(expr, ast.AggregateExpr):
            return self._aggregate(expr, times)
        if isinstance(expr, ast.BinaryExpr):
            return self._binary(expr, times)
        if isinstance(expr, ast.MatrixSelector | ast.SubqueryExpr):
            raise QueryExecutionError("a range vector can only be used as a function argument here")
        raise QueryExecutionError(f"unexpected expression {type(expr).__name__}")

    def _unary(self, expr: ast.UnaryExpr, times: IntArray) -> Value:
        value = self.eval(expr.expr, times)
        if expr.op == "+":
            return value
        if isinstance(value, np.ndarray):
            return -value
        if isinstance(value, Block):
            return Block(list(value.labels), -value.values, value.present.copy(), [True] * len(value))
        raise QueryExecutionError("unary minus is not defined on strings")

    def select_vector(self, sel: ast.VectorSelector, times: IntArray, sample_times: bool = False) -> Block:
        ends = self.effective_times(sel.at, sel.offset_ms, times)
        n = len(times)
        if n == 0:
            return Block.empty(0)
        mint = int(ends.min()) - self.lookback + 1
        maxt = int(ends.max())
        batch = self.select(sel.matchers, mint, maxt)
        if not len(batch):
            return Block.empty(n)
        ts = batch.timestamps
        shifted = batch.sorted_keys(min(int(ts.min()), int(ends.min())), max(int(ts.max()), int(ends.max())))
        # Series are resolved a few rows at a time, so the series x steps work arrays stay
        # small, and each chunk's samples are counted (and the deadline checked) before
        # the next is computed: a query over the limit stops long before the whole
        # series x steps block would have been allocated.
        rows = len(batch)
        chunk = max(1, CELLS_PER_CHUNK // n)
        labels: list[Labels] = []
        row_parts: list[FloatArray] = []
        present_parts: list[np.ndarray] = []
        for lo in range(0, rows, chunk):
            self.check_deadline()
            hi = min(rows, lo + chunk)
            keep, present, rows_out = self._resolve_rows(batch, shifted, ends, lo, hi, sample_times)
            if not len(keep):
                continue
            self.count_samples(int(present.sum()))
            labels += [batch.labels[i] for i in (keep + lo).tolist()]
            row_parts.append(rows_out)
            present_parts.append(present)
        if not labels:
            return Block.empty(n)
        if len(row_parts) == 1:
            return Block(labels, row_parts[0], present_parts[0], [False] * len(labels))
        return Block(labels, np.concatenate(row_parts), np.concatenate(present_parts), [False] * len(labels))

    def _resolve_rows(
        self,
        batch: SeriesBatch,
        shifted: tuple[IntArray, IntArray] | None,
        ends: IntArray,
        lo: int,
        hi: int,
        sample_times: bool,
    ) -> tuple[IntArray, np.ndarray, FloatArray]:
        """For series ``lo:hi``: the rows with any sample in the lookback of some
        time, their presence mask and their values (or sample times)."""
        ts, values = batch.timestamps, batch.values
        first = batch.offsets[lo:hi, None]
        # The newest sample at or before each time, for every series with one searchsorted.
        if shifted is not None:
            keyed, row_shift = shifted
            idx = keyed.searchsorted(ends[None, :] + row_shift[lo:hi], side="right") - 1
        else:  # time spans too wide to shift into int64: one search per series
            bounds = batch.offsets[lo : hi + 1].tolist()
            idx = np.array([ts[a:b].searchsorted(ends, side="right") - 1 + a for a, b in pairwise(bounds)])
        valid = idx >= first  # a hit in the previous series means "no sample yet"
        safe = np.where(valid, idx, 0)
        sample_t = ts[safe]
        vals = values[safe]
        valid &= sample_t > ends[None, :] - self.lookback
        valid &= ~_is_stale(vals)
        keep = valid.any(axis=1).nonzero()[0]
        rows = sample_t[keep].astype(np.float64) / 1000.0 if sample_times else vals[keep]
        return keep, valid[keep], rows

    def eval_range(self, expr: ast.Expr, times: IntArray) -> RangeArg:
        expr = _unwrap(expr)
        if isinstance(expr, ast.MatrixSelector):
            sel = expr.vector
            ends = self.effective_times(sel.at, sel.offset_ms, times)
            # From the first window's start on: windows are open on the left, but
            # Prometheus 2.42 counts a sample at the start against the limit.
            mint = int(ends.min()) - expr.range_ms
            maxt = int(ends.max())
            batch = self.select(sel.matchers, mint, maxt)
            # Range functions never see staleness markers.
            stale = _is_stale(batch.values)
            if stale.any():
                batch = batch.filter(~stale)
            # Not counted here: the reader counts the windows it holds.
            return RangeArg.of_batch(batch, ends, expr.range_ms)
        if isinstance(expr, ast.SubqueryExpr):
            return self._subquery(expr, times)
        raise QueryExecutionError(
            f"expected a range vector, got {type(expr).__name__}"
        )

    def _subquery(self, expr: ast.SubqueryExpr, times: IntArray) -> RangeArg:
        ends = self.effective_times(expr.at, expr.offset_ms, times)
        step = expr.step_ms or self.subquery_default_step
        lowest = int(ends.min()) - expr.range_ms
        first = -((-lowest) // step) * step  # first multiple of step at or after lowest
        last = int(ends.max())
        total = max((last - first) // step + 1, 0)
        # The inner steps are evaluated a slice at a time (steps are independent) and
        # only the points present are kept: x[1d:1ms] never holds a series x 86.4M
        # block, and its points count against the sample limit as they are made.
        parts: dict[tuple[Labels, bool, int], tuple[list[IntArray], list[FloatArray]]] = {}
        done = 0
        width = SUBQUERY_FIRST_SLICE
        while done < total:
            self.check_deadline()
            count = min(width, total - done)
            inner_times = first + (done + np.arange(count, dtype=np.int64)) * step
            done += count
            before = self.samples
            value = self.eval(expr.expr, inner_times)
            if isinstance(value, str):
                raise QueryExecutionError("subquery is only allowed on instant vector")
            if isinstance(value, np.ndarray):
                value = Block([()], value[None, :], np.ones((1, count), dtype=bool), [False])
            # As in Prometheus, the slice's intermediate samples are released and
            # the points the subquery keeps are counted instead.
            self.samples = before
            self.count_samples(int(value.present.sum()))
            seen: dict[tuple[Labels, bool], int] = {}
            for i, lbl in enumerate(value.labels):
                mask = value.present[i]
                if not mask.any():
                    continue
                drop = value.drop_name[i]
                nth = seen.get((lbl, drop), 0)  # a label set twice in one slice stays two series
                seen[(lbl, drop)] = nth + 1
                t_parts, v_parts = parts.setdefault((lbl, drop, nth), ([], []))
                t_parts.append(inner_times[mask])
                v_parts.append(value.values[i, mask])
            # Size later slices to the series the expression yields.
            width = min(SUBQUERY_MAX_SLICE, max(SUBQUERY_FIRST_SLICE, CELLS_PER_CHUNK * 4 // max(1, len(value))))
        # One flat batch, filled part by part (each freed once copied): the points
        # are held once, not once per series and again as the batch functions read.
        sizes = [sum(len(p) for p in t_parts) for t_parts, _ in parts.values()]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        flat_t = np.empty(int(offsets[-1]), dtype=np.int64)
        flat_v = np.empty(int(offsets[-1]), dtype=np.float64)
        for k, (t_parts, v_parts) in enumerate(parts.values()):
            _fill(flat_t, int(offsets[k]), t_parts)
            _fill(flat_v, int(offsets[k]), v_parts)
        batch = SeriesBatch([lbl for lbl, _, _ in parts], flat_t, flat_v, offsets)
        return RangeArg.of_batch(batch, ends, expr.range_ms, [drop for _, drop, _ in parts])

    def _call(self, expr: ast.Call, times: IntArray) -> Value:
        name = expr.func
        if name == "info":
            return self._info(expr, times)
        ctx = CallContext(times, expr.args, notes=self.notes, check=self.check_deadline)
        range_index = RANGE_FUNCTIONS.get(name)
        base = self.samples
        # As in Prometheus, a range argument (a subquery's points) is evaluated first.
        rng = self.eval_range(expr.args[range_index], times) if range_index is not None else None
        held_range = self.samples - base
        args: list[Any] = []
        for i, arg in enumerate(expr.args):
            if i == range_index:
                args.append(rng)
            elif name == "timestamp" and isinstance(_unwrap(arg), ast.VectorSelector):
                inner = _unwrap(arg)
                assert isinstance(inner, ast.VectorSelector)
                args.append(self.select_vector(inner, times, sample_times=True))
                # Prometheus selects timestamp()'s argument one step at a time.
                self.samples = base
                ctx.sample_times = True
            else:
                args.append(self.eval(arg, times))
        if range_index is None:
            out = call_function(name, args, ctx)
            self.stepwise(base, args, out, len(times))
            return out
        return self._range_call(name, args, range_index, ctx, held_range)

    def _range_call(self, name: str, args: list[Any], range_index: int, ctx: CallContext, held_range: int) -> Value:
        """A range function, a slice of series at a time when its windows would make a
        big series x steps block. After each slice, the samples Prometheus 2.42 would
        hold while reading it (its windows, one series at a time, on top of the outputs
        so far) are checked against the limit; afterwards the outputs stay held and the
        range argument (``held_range``, a subquery's points) is released."""
        rng: RangeArg = args[range_index]
        need = MIN_POINTS.get(name, 1)
        held = self.samples
        n = len(ctx.times)
        chunk = max(1, CELLS_PER_CHUNK // max(1, n))
        rows = len(rng.batch)
        done = 0
        if name == "absent_over_time" or rows <= chunk:
            out = call_function(name, args, ctx)
            if rows:
                extra, done = range_call_peak(self._window_counts(rng), need, 0)
                self.check_held(held + extra)
        else:
            blocks = []
            for lo in range(0, rows, chunk):
                self.check_deadline()
                part_args = list(args)
                part_args[range_index] = part = rng.rows(lo, lo + chunk)
                result = call_function(name, part_args, ctx)
                assert isinstance(result, Block)
                extra, done = range_call_peak(self._window_counts(part), need, done)
                self.check_held(held + extra)
                blocks.append(result)
            out = Block.concat(blocks, n)
        self.samples = held - held_range + done
        return out

    @staticmethod
    def _window_counts(rng: RangeArg) -> IntArray:
        """Closed window sizes (series x times), from the bounds the function found
        when it kept them (the vectorised functions do)."""
        if rng.open_bounds is not None:
            (lo, hi), rng.open_bounds = rng.open_bounds, None  # two series x steps arrays: let them go
            return closed_from_open(rng.batch, rng.ends, rng.range_ms, lo, hi)
        return closed_window_counts(rng.batch, rng.ends, rng.range_ms)

    def _info(self, expr: ast.Call, times: IntArray) -> Block:
        """info(v, {__name__="target_info", data=~"..."}): add info series' data labels."""
        held = self.samples
        base = self.eval(expr.args[0], times)
        if not isinstance(base, Block):
            raise QueryExecutionError("info() expects an instant vector")
        matchers: tuple[Matcher, ...] = ()
        if len(expr.args) > 1:
            sel = _unwrap(expr.args[1])
            if not isinstance(sel, ast.VectorSelector):
                raise QueryExecutionError("info() expects a series selector as second argument")
            matchers = sel.matchers
        name_matchers = [m for m in matchers if m.name == METRIC_NAME] or [
            Matcher(METRIC_NAME, "=", "target_info")
        ]
        data_matchers = [m for m in matchers if m.name != METRIC_NAME]
        # Info series are looked up with the base's identifying labels' values only.
        identity: dict[str, set[str]] = {name: set() for name in INFO_IDENTIFYING_LABELS}
        for lbl in base.labels:
            d = dict(lbl)
            for name in INFO_IDENTIFYING_LABELS:
                identity[name].add(d.get(name, ""))
        lookup = list(name_matchers)
        for name, values in identity.items():
            if values and "" not in values:
                pattern = "|".join(re.escape(v) for v in sorted(values))
                lookup.append(Matcher(name, "=~", pattern))
        selector = ast.VectorSelector(None, tuple(lookup))
        infos = self.select_vector(selector, times)
        info_times = self.select_vector(selector, times, sample_times=True)
        out = info_enrich(base, infos, info_times.values, name_matchers, data_matchers)
        self.stepwise(held, [base, infos, info_times], out, len(times))
        return out

    def _aggregate(self, expr: ast.AggregateExpr, times: IntArray) -> Block:
        base = self.samples
        param: FloatArray | str | None = None
        if expr.param is not None:
            p = self.eval(expr.param, times)
            if isinstance(p, Block):
                raise QueryExecutionError(f"expected scalar parameter for {expr.op}")
            param = p
        if expr.op == "count_values":
            assert isinstance(param, str)
            # As Prometheus 2.42: the output label must be a classic label name.
            if not valid_label_name(param) or not LABEL_NAME_RE.fullmatch(param):
                raise QueryExecutionError(f"invalid label name {go_quote(param)}")
        value = self.eval(expr.expr, times)
        if not isinstance(value, Block):
            raise QueryExecutionError(f"expected instant vector in aggregation {expr.op}")
        out = aggregate(expr.op, value, expr.grouping, expr.without, param, self.notes)
        self.stepwise(base, [param, value] if param is not None else [value], out, len(times))
        return out

    def _binary(self, top: ast.BinaryExpr, times: IntArray) -> Value:
        # A left-deep chain (a or b or ...) is folded in a loop, not recursively.
        spine = ast.left_spine(top)
        base = self.samples
        acc = self.eval(spine[-1].lhs, times)
        for expr in reversed(spine):
            rhs = self.eval(expr.rhs, times)
            out = self._binary_node(expr, acc, rhs)
            self.stepwise(base, [acc, rhs], out, len(times))
            acc = out
        return acc

    def _binary_node(self, expr: ast.BinaryExpr, lhs: Value, rhs: Value) -> Value:
        self.check_deadline()
        if isinstance(lhs, str) or isinstance(rhs, str):
            raise QueryExecutionError("binary expressions are not defined on strings")
        if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
            return scalar_binary(expr.op, lhs, rhs)
        if isinstance(lhs, Block) and isinstance(rhs, np.ndarray):
            return vector_scalar_binary(expr.op, lhs, rhs, scalar_on_left=False, return_bool=expr.return_bool)
        if isinstance(lhs, np.ndarray) and isinstance(rhs, Block):
            return vector_scalar_binary(expr.op, rhs, lhs, scalar_on_left=True, return_bool=expr.return_bool)
        assert isinstance(lhs, Block) and isinstance(rhs, Block)
        matching = expr.matching
        if matching is None:
            matching = ast.VectorMatching(card="many-to-many" if expr.op in ast.SET_OPS else "one-to-one")
        return vector_vector_binary(expr.op, lhs, rhs, matching, return_bool=expr.return_bool)
