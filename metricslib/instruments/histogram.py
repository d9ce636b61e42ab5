"""Histogram: observations counted into cumulative buckets, plus their sum.

Like counters, each thread writes only its own cell (one slot per bucket
plus the sum), found by ``bisect`` in C; collection adds the cells up and
makes the counts cumulative. ``_count`` is the sum of the bucket slots, so
buckets and count can never disagree.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from threading import get_ident
from typing import TYPE_CHECKING, Any

from metricslib.errors import InvalidBucketsError
from metricslib.instruments._base import CellsChild, MetricBase, series_text
from metricslib.instruments._timing import Timer
from metricslib.model import (
    Exemplar,
    MetricFamily,
    Sample,
    escape_help,
    exemplar_text,
    format_value,
    validate_exemplar,
)
from metricslib.registry import REGISTRY

if TYPE_CHECKING:
    from metricslib.registry import Registry

__all__ = ["DEFAULT_BUCKETS", "Histogram", "HistogramChild", "validate_buckets"]

INF = math.inf
# prometheus_client's defaults, tuned for web request latencies in seconds.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, INF,
)  # fmt: skip


def validate_buckets(metric: str, buckets: Iterable[float]) -> list[float]:
    """Bucket upper bounds as floats, strictly increasing, ending with +Inf."""
    try:
        bounds = [float(b) for b in buckets]
    except (TypeError, ValueError) as exc:
        raise InvalidBucketsError(f"histogram {metric!r}: buckets must be numbers ({exc})") from None
    for i, bound in enumerate(bounds):
        if bound != bound:
            raise InvalidBucketsError(f"histogram {metric!r}: bucket {i} is NaN")
        if i and bound <= bounds[i - 1]:
            kind = "duplicated" if bound == bounds[i - 1] else "not sorted"
            raise InvalidBucketsError(
                f"histogram {metric!r}: buckets {kind} at index {i} "
                f"({bounds[i - 1]!r} then {bound!r}); give strictly increasing bounds"
            )
    if not bounds or bounds[-1] != INF:
        bounds.append(INF)
    if len(bounds) < 2:
        raise InvalidBucketsError(f"histogram {metric!r}: needs at least one finite bucket bound")
    return bounds


class HistogramChild(CellsChild):
    """One labelled series of a Histogram."""

    __slots__ = ("_created", "_exemplars", "_inf_index", "_metric", "_sum_index", "_upper")

    def __init__(
        self, metric: str, upper: list[float], labelnames: Sequence[str], labelvalues: tuple[str, ...]
    ) -> None:
        super().__init__(labelnames, labelvalues)
        self._metric = metric
        self._upper = upper
        self._inf_index = len(upper) - 1
        self._sum_index = len(upper)
        self._created = time.time()
        self._exemplars: dict[int, Exemplar] = {}

    def observe(self, amount: float, exemplar: Mapping[str, str] | None = None) -> None:
        """Record one observation (e.g. seconds); ``exemplar`` labels link it to a trace."""
        i = bisect_left(self._upper, amount)
        if amount != amount:
            # NaN compares false with every bound: Go's client files it under +Inf, so do we.
            i = self._inf_index
        try:
            cell = self._cells[get_ident()]
        except KeyError:  # this thread's first observation of this series
            cell = self._claim([0.0] * (len(self._upper) + 1))
        # Float constants and a positive index keep 3.11's specialised (fast) bytecodes.
        cell[i] += 1.0
        cell[self._sum_index] += amount
        if exemplar is not None:
            self._exemplars[i] = Exemplar(validate_exemplar(exemplar, self._metric), amount, time.time())

    def time(self) -> Timer:
        """Context manager / decorator (also for ``async def``) observing seconds taken."""
        return Timer(self.observe)

    def snapshot(self) -> tuple[list[float], float]:
        """(cumulative bucket counts, sum): the last count is ``_count``."""
        width = len(self._upper) + 1
        totals = [0.0] * width
        for cell in self._cell_list:
            for j in range(width):
                totals[j] += cell[j]
        acc = 0.0
        cumulative = []
        for j in range(width - 1):
            acc += totals[j]
            cumulative.append(acc)
        return cumulative, totals[-1]


class Histogram(MetricBase[HistogramChild]):
    """Counts observations in configurable buckets (``le`` is reserved)."""

    DEFAULT_BUCKETS = DEFAULT_BUCKETS
    _type = "histogram"
    _fast_text = True
    _reserved_labels = ("le",)
    _child_methods = ("observe", "time")

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Registry | None = REGISTRY,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        self._upper = validate_buckets(name, buckets)
        self._le = [format_value(b) for b in self._upper]
        self._le_text = [f'le="{le}"' for le in self._le]
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry)

    def _make_child(self, labelvalues: tuple[str, ...]) -> HistogramChild:
        return HistogramChild(self._name, self._upper, self._labelnames, labelvalues)

    def observe(self, amount: float, exemplar: Mapping[str, str] | None = None) -> None:
        raise self._needs_labels("observe")

    def time(self) -> Timer:
        raise self._needs_labels("time")

    def _child_samples(self, child: HistogramChild, family: MetricFamily) -> None:
        cumulative, total = child.snapshot()
        name = self._name
        append = family.samples.append
        exemplars = child._exemplars
        for i, le in enumerate(self._le):
            labels = dict(child._labels)
            labels["le"] = le
            append(Sample(name + "_bucket", labels, cumulative[i], None, exemplars.get(i)))
        append(Sample(name + "_count", dict(child._labels), cumulative[-1]))
        append(Sample(name + "_sum", dict(child._labels), total))
        append(Sample(name + "_created", dict(child._labels), child._created))

    def _prefixes(self, child: HistogramChild, defaults: Mapping[str, str]) -> tuple[Any, ...]:
        """Cached line prefixes: bucket head and tail (around ``le``), count, sum, created."""
        cache = child._text_cache
        if cache is None or cache[0] is not defaults:
            name = self._name
            before, after = series_text(child._labels, defaults, "le")
            plain = series_text(child._labels, defaults)[0]
            inner = f"{{{plain}}} " if plain else " "
            cache = child._text_cache = (
                defaults,
                f"{name}_bucket{{{before}",
                f"{after}}} ",
                f"{name}_count{inner}",
                f"{name}_sum{inner}",
                f"{name}_created{inner}",
            )
        return cache

    def _write_text(self, out: list[str], defaults: Mapping[str, str]) -> None:
        name = self._name
        out.append(f"# HELP {name} {escape_help(self._documentation)}\n# TYPE {name} histogram\n")
        self._write_samples(out, defaults, None)

    def _write_openmetrics(self, out: list[str], defaults: Mapping[str, str], created: bool) -> None:
        out.append(self._om_header())
        self._write_samples(out, defaults, created)

    def _write_samples(self, out: list[str], defaults: Mapping[str, str], created: bool | None) -> None:
        """Shared by both formats; ``created`` is None for text 0.0.4 (no OpenMetrics rules)."""
        les = self._le_text
        negative_buckets = self._upper[0] < 0
        for child in self._snapshot():
            _, head, tail, count_prefix, sum_prefix, created_prefix = self._prefixes(child, defaults)
            cumulative, total = child.snapshot()
            exemplars = child._exemplars if created is not None else None
            for i, (le, count) in enumerate(zip(les, cumulative, strict=True)):
                exemplar = exemplars.get(i) if exemplars else None
                suffix = "" if exemplar is None else exemplar_text(exemplar)
                out.append(f"{head}{le}{tail}{format_value(count)}{suffix}\n")
            # OpenMetrics forbids _sum (and so _count) once buckets or the sum go negative.
            if created is None or not (negative_buckets or total < 0):
                out.append(f"{count_prefix}{format_value(cumulative[-1])}\n")
                out.append(f"{sum_prefix}{format_value(total)}\n")
            if created:
                out.append(f"{created_prefix}{format_value(child._created)}\n")
