"""Gauge: a value that goes up and down; ``set()`` is exact (last write wins).

Unlike counters a gauge cannot use per-thread cells (``set`` must replace
every thread's contribution), so each child guards its value with a lock,
taken with explicit acquire/release (about half the cost of ``with``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from metricslib.errors import InvalidMetricError
from metricslib.instruments._base import ChildBase, MetricBase, series_text
from metricslib.instruments._timing import InprogressTracker, Timer
from metricslib.model import MetricFamily, Sample, escape_help, format_value
from metricslib.registry import REGISTRY

if TYPE_CHECKING:
    from metricslib.registry import Registry

__all__ = ["MULTIPROCESS_MODES", "Gauge", "GaugeChild"]

# How a multi-worker setup combines one gauge across workers (read by metricslib.multiprocess).
MULTIPROCESS_MODES = frozenset(
    {"all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent"}
)


class GaugeChild(ChildBase):
    """One labelled series of a Gauge."""

    __slots__ = ("_cell", "_function", "_lock", "_value")

    def __init__(self, labelnames: Sequence[str], labelvalues: tuple[str, ...]) -> None:
        super().__init__(labelnames, labelvalues)
        self._value = 0.0
        self._lock = threading.Lock()
        self._function: Callable[[], float] | None = None
        self._cell: list[float] | None = None

    def _renew_locks(self) -> None:
        self._lock = threading.Lock()

    def _attach_series(self, series: Any) -> None:
        """Keep the value (and when it was written) in a worker's value file."""
        self._lock.acquire()
        try:
            value = self._value
            # A value set before the move is dated now; an untouched gauge never wins ``mostrecent``.
            self._cell = series.cell([value, time.time() if value else 0.0])
            self._series = series
            self.__class__ = _FileGaugeChild
        finally:
            self._lock.release()

    def _detach_series(self) -> None:
        self._lock.acquire()
        try:
            if self._cell is not None:
                self._value = self._cell[0]
            self._cell = None
            self._series = None
            self.__class__ = GaugeChild
        finally:
            self._lock.release()

    def inc(self, amount: float = 1.0) -> None:
        lock = self._lock
        lock.acquire()
        try:
            self._value += amount
        finally:
            lock.release()

    def dec(self, amount: float = 1.0) -> None:
        lock = self._lock
        lock.acquire()
        try:
            self._value -= amount
        finally:
            lock.release()

    def set(self, value: float) -> None:
        value = float(value)
        lock = self._lock
        lock.acquire()
        try:
            self._value = value
        finally:
            lock.release()

    def set_to_current_time(self) -> None:
        self.set(time.time())

    def set_function(self, f: Callable[[], float]) -> None:
        """Read the value from ``f()`` at each collection instead of the stored value."""
        self._function = f

    def get(self) -> float:
        function = self._function
        if function is not None:
            return float(function())
        return self._value

    def track_inprogress(self) -> InprogressTracker:
        """Context manager / decorator: +1 while a block or call runs."""
        return InprogressTracker(self.inc, self.dec)

    def time(self) -> Timer:
        """Context manager / decorator: set the gauge to the duration in seconds."""
        return Timer(self.set)


class _FileGaugeChild(GaugeChild):
    """A gauge child whose value lives in a worker's value file (``metricslib.multiprocess``).

    The cell holds ``[value, time of last write]``: the ``mostrecent`` modes
    compare the times, also for a worker that was SIGKILLed.
    """

    __slots__ = ()

    def inc(self, amount: float = 1.0) -> None:
        lock = self._lock
        lock.acquire()
        try:
            cell = self._cell
            cell[0] += amount  # type: ignore[index]
            cell[1] = _time()  # type: ignore[index]
        finally:
            lock.release()

    def dec(self, amount: float = 1.0) -> None:
        lock = self._lock
        lock.acquire()
        try:
            cell = self._cell
            cell[0] -= amount  # type: ignore[index]
            cell[1] = _time()  # type: ignore[index]
        finally:
            lock.release()

    def set(self, value: float) -> None:
        value = float(value)
        lock = self._lock
        lock.acquire()
        try:
            cell = self._cell
            cell[0] = value  # type: ignore[index]
            cell[1] = _time()  # type: ignore[index]
        finally:
            lock.release()

    def get(self) -> float:
        function = self._function
        if function is not None:
            return float(function())
        return self._cell[0]  # type: ignore[index]


_time = time.time


class Gauge(MetricBase[GaugeChild]):
    """A value that can go up and down."""

    _type = "gauge"
    _fast_text = True
    _child_methods = (
        "inc",
        "dec",
        "set",
        "set_to_current_time",
        "set_function",
        "get",
        "track_inprogress",
        "time",
    )

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Registry | None = REGISTRY,
        multiprocess_mode: str = "all",
    ) -> None:
        if multiprocess_mode not in MULTIPROCESS_MODES:
            raise InvalidMetricError(
                f"gauge {name!r}: invalid multiprocess_mode {multiprocess_mode!r}, "
                f"expected one of {sorted(MULTIPROCESS_MODES)}"
            )
        self.multiprocess_mode = multiprocess_mode
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry)

    def _make_child(self, labelvalues: tuple[str, ...]) -> GaugeChild:
        return GaugeChild(self._labelnames, labelvalues)

    def inc(self, amount: float = 1.0) -> None:
        raise self._needs_labels("inc")

    def dec(self, amount: float = 1.0) -> None:
        raise self._needs_labels("dec")

    def set(self, value: float) -> None:
        raise self._needs_labels("set")

    def set_to_current_time(self) -> None:
        raise self._needs_labels("set_to_current_time")

    def set_function(self, f: Callable[[], float]) -> None:
        raise self._needs_labels("set_function")

    def get(self) -> float:
        raise self._needs_labels("get")

    def track_inprogress(self) -> InprogressTracker:
        raise self._needs_labels("track_inprogress")

    def time(self) -> Timer:
        raise self._needs_labels("time")

    def _child_samples(self, child: GaugeChild, family: MetricFamily) -> None:
        family.samples.append(Sample(self._name, dict(child._labels), child.get()))

    def _write_text(self, out: list[str], defaults: Mapping[str, str]) -> None:
        name = self._name
        out.append(f"# HELP {name} {escape_help(self._documentation)}\n# TYPE {name} gauge\n")
        self._write_samples(out, defaults)

    def _write_samples(self, out: list[str], defaults: Mapping[str, str]) -> None:
        name = self._name
        for child in self._snapshot():
            cache = child._text_cache
            if cache is None or cache[0] is not defaults:
                text = series_text(child._labels, defaults)[0]
                cache = child._text_cache = (defaults, f"{name}{{{text}}} " if text else name + " ")
            out.append(f"{cache[1]}{format_value(child.get())}\n")

    def _write_openmetrics(self, out: list[str], defaults: Mapping[str, str], created: bool) -> None:
        out.append(self._om_header())
        self._write_samples(out, defaults)
