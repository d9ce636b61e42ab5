"""Summary: count and sum of observations, optionally quantiles over a sliding window.

Without ``quantiles`` a summary exposes only ``_count`` and ``_sum`` (as
prometheus_client does) and uses lock-free per-thread cells. With them,
observations are kept in ``age_buckets`` time slices covering the last
``max_age_seconds``; quantiles are computed (nearest rank) at collection
from the slices still inside the window. Each slice keeps at most
``SLICE_CAPACITY`` values (a uniform reservoir beyond that), which bounds memory.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterable, Sequence
from threading import get_ident
from typing import TYPE_CHECKING

from metricslib.errors import InvalidMetricError
from metricslib.instruments._base import CellsChild, MetricBase
from metricslib.instruments._timing import Timer
from metricslib.model import MetricFamily, Sample, format_value
from metricslib.registry import REGISTRY

if TYPE_CHECKING:
    from metricslib.registry import Registry

__all__ = ["SLICE_CAPACITY", "Summary", "SummaryChild"]

SLICE_CAPACITY = 2_000

# Monotonic clock for window rotation; tests replace it to move time deterministically.
clock = time.monotonic
# One generator for every reservoir (a Random per series would cost ~2.5 kB each).
_random = random.Random(0)


class _Window:
    """Observations of the last ``max_age`` seconds, in ``slices`` rotating buckets."""

    def __init__(self, max_age: float, slices: int) -> None:
        self._width = max_age / slices
        self._slices: list[list[float]] = [[] for _ in range(slices)]
        self._seen = [0] * slices
        self._current = 0
        self._started = clock()

    def _rotate(self, now: float) -> None:
        elapsed = now - self._started
        if elapsed < self._width:
            return
        steps = int(elapsed // self._width)
        n = len(self._slices)
        for _ in range(min(steps, n)):
            self._current = (self._current + 1) % n
            self._slices[self._current] = []
            self._seen[self._current] = 0
        self._started += steps * self._width

    def add(self, value: float) -> None:
        self._rotate(clock())
        i = self._current
        values = self._slices[i]
        self._seen[i] += 1
        if len(values) < SLICE_CAPACITY:
            values.append(value)
        else:
            j = _random.randrange(self._seen[i])
            if j < SLICE_CAPACITY:
                values[j] = value

    def quantiles(self, qs: Sequence[float]) -> list[float]:
        self._rotate(clock())
        values = sorted(v for s in self._slices for v in s)
        if not values:
            return [math.nan] * len(qs)
        n = len(values)
        return [values[min(n - 1, max(0, math.ceil(q * n) - 1))] for q in qs]


class SummaryChild(CellsChild):
    """One labelled series of a Summary."""

    __slots__ = ("_created", "_lock", "_window")

    def __init__(
        self,
        labelnames: Sequence[str],
        labelvalues: tuple[str, ...],
        window: _Window | None,
    ) -> None:
        super().__init__(labelnames, labelvalues)
        self._created = time.time()
        self._window = window
        # Re-entrant: window rotation allocates, and a GC finalizer may observe the same series.
        self._lock = threading.RLock() if window is not None else None

    def _renew_locks(self) -> None:
        if self._lock is not None:
            self._lock = threading.RLock()

    def observe(self, amount: float) -> None:
        try:
            cell = self._cells[get_ident()]
        except KeyError:  # this thread's first observation of this series
            cell = self._claim([0.0, 0.0])
        cell[0] += 1.0
        cell[1] += amount
        lock = self._lock
        if lock is not None:
            lock.acquire()
            try:
                self._window.add(amount)  # type: ignore[union-attr]
            finally:
                lock.release()

    def time(self) -> Timer:
        """Context manager / decorator (also for ``async def``) observing seconds taken."""
        return Timer(self.observe)

    def snapshot(self) -> tuple[float, float]:
        """(count, sum)."""
        count = total = 0.0
        for cell in self._cell_list:
            count += cell[0]
            total += cell[1]
        return count, total

    def quantile_values(self, qs: Sequence[float]) -> list[float]:
        if self._window is None or self._lock is None:
            return []
        with self._lock:
            return self._window.quantiles(qs)


class Summary(MetricBase[SummaryChild]):
    """Count and sum of observations; ``quantiles`` adds φ-quantiles over a sliding window."""

    _type = "summary"
    _reserved_labels = ("quantile",)
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
        quantiles: Iterable[float] = (),
        max_age_seconds: float = 600.0,
        age_buckets: int = 5,
    ) -> None:
        qs = sorted(float(q) for q in quantiles)
        for i, q in enumerate(qs):
            if not 0.0 <= q <= 1.0:
                raise InvalidMetricError(f"summary {name!r}: quantile {q!r} is not between 0 and 1")
            if i and q == qs[i - 1]:
                raise InvalidMetricError(f"summary {name!r}: quantile {q!r} is given twice")
        if qs and (max_age_seconds <= 0 or age_buckets < 1):
            raise InvalidMetricError(
                f"summary {name!r}: max_age_seconds must be > 0 and age_buckets >= 1, "
                f"got {max_age_seconds!r} and {age_buckets!r}"
            )
        self._quantiles = tuple(qs)
        self._quantile_text = [format_value(q) for q in qs]
        self._max_age = float(max_age_seconds)
        self._age_buckets = int(age_buckets)
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry)

    def _make_child(self, labelvalues: tuple[str, ...]) -> SummaryChild:
        window = _Window(self._max_age, self._age_buckets) if self._quantiles else None
        return SummaryChild(self._labelnames, labelvalues, window)

    def observe(self, amount: float) -> None:
        raise self._needs_labels("observe")

    def time(self) -> Timer:
        raise self._needs_labels("time")

    def _child_samples(self, child: SummaryChild, family: MetricFamily) -> None:
        name = self._name
        append = family.samples.append
        for text, value in zip(self._quantile_text, child.quantile_values(self._quantiles), strict=True):
            labels = dict(child._labels)
            labels["quantile"] = text
            append(Sample(name, labels, value))
        count, total = child.snapshot()
        append(Sample(name + "_count", dict(child._labels), count))
        append(Sample(name + "_sum", dict(child._labels), total))
        append(Sample(name + "_created", dict(child._labels), child._created))
