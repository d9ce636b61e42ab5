"""What every instrument parent shares: naming, label handling, children, registration.

A *parent* (``Counter(...)``) owns its definition and a dict of *children*,
one per combination of label values. A parent without labels has exactly
one child, and its hot methods are that child's bound methods stored on the
instance, so ``counter.inc()`` costs the same as ``child.inc()``.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from threading import get_ident
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from metricslib.errors import InvalidLabelsError, InvalidNameError
from metricslib.model import (
    MetricFamily,
    escape_help,
    escape_label_value,
    validate_labelnames,
    validate_metric_name,
)
from metricslib.registry import REGISTRY

if TYPE_CHECKING:
    from metricslib.registry import Registry

__all__ = ["CELL_LOCK", "CellsChild", "ChildBase", "MetricBase", "build_full_name", "series_text"]

# Creating a per-thread cell is rare (once per thread per child): one lock for all of them.
CELL_LOCK = threading.Lock()


# Every parent metric, so a forked child can give them (and their children) fresh locks.
_PARENTS: weakref.WeakSet[MetricBase[Any]] = weakref.WeakSet()


def _new_locks_after_fork() -> None:
    # A fork while another thread held a lock would leave the child's copy locked forever.
    global CELL_LOCK
    CELL_LOCK = threading.Lock()
    for parent in list(_PARENTS):
        parent._renew_locks()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_locks_after_fork)


def build_full_name(typ: str, name: str, namespace: str, subsystem: str, unit: str) -> str:
    """Join namespace/subsystem/name/unit the way ``prometheus_client`` does."""
    if not name:
        raise InvalidNameError("metric name must not be empty")
    full = "".join(part + "_" for part in (namespace, subsystem) if part) + name
    if typ == "counter" and full.endswith("_total"):
        # Accept both spellings: the ``_total`` suffix belongs to the sample, not the family.
        full = full[:-6]
    if unit and not full.endswith("_" + unit):
        full += "_" + unit
    if unit and typ in ("info", "stateset"):
        raise InvalidNameError(f"metric {full!r} is a {typ} and cannot have a unit ({unit!r})")
    return validate_metric_name(full)


def series_text(labels: Mapping[str, str], defaults: Mapping[str, str], extra: str = "") -> tuple[str, str]:
    """Rendered labels of a series, sorted by name as prometheus_client prints them.

    ``defaults`` fill in names the series does not set. With ``extra`` (``le``
    or ``quantile``), the text is split where that label goes: the caller
    writes ``before + 'le="0.5"' + after``; ``before`` ends and ``after``
    starts with the needed comma.
    """
    merged = dict(labels)
    for name, value in defaults.items():
        if name not in merged:
            merged[name] = value
    merged.pop(extra, None)
    rendered = [(n, f'{n}="{escape_label_value(v)}"') for n, v in sorted(merged.items())]
    if not extra:
        return ",".join(text for _, text in rendered), ""
    before = "".join(text + "," for n, text in rendered if n < extra)
    after = "".join("," + text for n, text in rendered if n > extra)
    return before, after


class ChildBase:
    """State common to all children: label values and cached exposition prefixes.

    ``_series`` is the child's place in a worker's value file while
    ``metricslib.multiprocess`` is set up (None otherwise): types that keep
    their values there override ``_attach_series`` / ``_detach_series``.
    """

    __slots__ = ("_labels", "_labelvalues", "_series", "_text_cache")

    def __init__(self, labelnames: Sequence[str], labelvalues: tuple[str, ...]) -> None:
        self._labelvalues = labelvalues
        self._labels = dict(zip(labelnames, labelvalues, strict=True))
        # (default-labels dict it was built for, prefix strings...): rebuilt when defaults change.
        self._text_cache: tuple[Any, ...] | None = None
        self._series: Any = None

    def _attach_series(self, series: Any) -> None:
        self._series = series

    def _detach_series(self) -> None:
        self._series = None


class CellsChild(ChildBase):
    """A child whose writers each add into their own thread's cell, without a lock.

    ``_cells`` maps thread ids to cells: one small-dict lookup finds the
    calling thread's cell (a ``threading.local`` per series was measured
    slower once thousands of series are in use). A new thread reuses the
    cell a finished thread with the same id left (ids are reused only after
    a thread ends), which bounds memory by the number of live threads and
    keeps every count; ``_cell_list`` is what collection sums.
    """

    __slots__ = ("_cell_list", "_cells")

    def __init__(self, labelnames: Sequence[str], labelvalues: tuple[str, ...]) -> None:
        super().__init__(labelnames, labelvalues)
        self._cells: dict[int, list[float]] = {}
        self._cell_list: list[list[float]] = []

    def _claim(self, fresh: list[float]) -> list[float]:
        """The calling thread's cell (``fresh`` if its id has none yet)."""
        tid = get_ident()
        with CELL_LOCK:
            # Read under the lock so a concurrent reset cannot hand us a mix of old and new state.
            cell = self._cells.get(tid)
            if cell is None:
                series = self._series
                if series is not None:
                    fresh = series.cell(fresh)  # the same numbers, in the worker's value file
                cell = self._cells[tid] = fresh
                self._cell_list.append(cell)
        return cell

    def _reset_cells(self, created: float = 0.0) -> None:
        with CELL_LOCK:
            self._cells = {}
            self._cell_list = []
            if self._series is not None:
                self._series = self._series.renew(created)

    def _attach_series(self, series: Any) -> None:
        """Move every thread's cell into the value file (values copied)."""
        with CELL_LOCK:
            self._series = series
            cells = {tid: series.cell(list(cell)) for tid, cell in self._cells.items()}
            self._cells = cells
            self._cell_list = list(cells.values())

    def _detach_series(self) -> None:
        """Private cells again, holding the file's values."""
        with CELL_LOCK:
            self._series = None
            cells = {tid: list(cell) for tid, cell in self._cells.items()}
            self._cells = cells
            self._cell_list = list(cells.values())


ChildT = TypeVar("ChildT", bound=ChildBase)


class MetricBase(Generic[ChildT]):
    """Base of Counter, Gauge, Histogram, Summary, Info and Enum."""

    _type: ClassVar[str] = "unknown"
    _reserved_labels: ClassVar[tuple[str, ...]] = ()
    # Child methods the parent exposes directly when it has no labels.
    _child_methods: ClassVar[tuple[str, ...]] = ()
    # True when the type renders text 0.0.4 itself (``_write_text``), skipping Sample objects.
    _fast_text: ClassVar[bool] = False
    # The worker's value file (metricslib.multiprocess.values.ValueStore) while set up.
    _store: Any = None

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Registry | None = REGISTRY,
    ) -> None:
        self._name = build_full_name(self._type, name, namespace, subsystem, unit)
        if not isinstance(documentation, str):
            raise InvalidNameError(
                f"documentation of metric {self._name!r} must be a string, got {documentation!r}"
            )
        self._documentation = documentation
        self._unit = unit
        self._labelnames = validate_labelnames(self._name, labelnames, self._reserved_labels)
        self._children: dict[tuple[Any, ...], ChildT] = {}
        # Re-entrant: a finalizer run by a GC pass inside child creation may call labels() again.
        self._lock = threading.RLock()
        self._check_labelnames()
        self._default_child: ChildT | None = None
        if not self._labelnames:
            child = self._make_child(())
            self._default_child = child
            for method in self._child_methods:
                # An instance attribute shadows the class method: no extra call on the hot path.
                self.__dict__[method] = getattr(child, method)
        _PARENTS.add(self)
        # Registration last, after every check: a failed constructor leaves nothing behind.
        if registry is not None:
            registry.register(self)
            store = getattr(registry, "_value_store", None)
            if store is not None:  # a multi-worker registry: values go to the worker's file
                store.attach([self])

    # -- hooks for subclasses -------------------------------------------------------------

    def _check_labelnames(self) -> None:
        """Extra label-name checks a type needs (e.g. Enum's own name)."""

    def _make_child(self, labelvalues: tuple[str, ...]) -> ChildT:
        raise NotImplementedError

    def _child_samples(self, child: ChildT, family: MetricFamily) -> None:
        raise NotImplementedError

    def _write_text(self, out: list[str], defaults: Mapping[str, str]) -> None:
        """Append this metric's text 0.0.4 lines to ``out`` (the registry's fast path)."""
        raise NotImplementedError

    def _write_openmetrics(self, out: list[str], defaults: Mapping[str, str], created: bool) -> None:
        """Append this metric's OpenMetrics lines to ``out`` (the registry's fast path)."""
        raise NotImplementedError

    def _om_header(self) -> str:
        name = self._name
        unit = f"# UNIT {name} {self._unit}\n" if self._unit else ""
        return (
            f"# HELP {name} {escape_help(self._documentation, openmetrics=True)}\n"
            f"# TYPE {name} {self._type}\n{unit}"
        )

    def _renew_locks(self) -> None:
        """Fresh locks in a forked child (see ``_new_locks_after_fork``)."""
        self._lock = threading.RLock()
        for child in self._snapshot():
            renew = getattr(child, "_renew_locks", None)
            if renew is not None:
                renew()

    def _needs_labels(self, method: str) -> InvalidLabelsError:
        return InvalidLabelsError(
            f"metric {self._name!r} has labels {list(self._labelnames)}: "
            f"call .labels(...).{method}(), not .{method}() on the metric itself"
        )

    # -- public API -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def documentation(self) -> str:
        return self._documentation

    @property
    def labelnames(self) -> tuple[str, ...]:
        return self._labelnames

    def labels(self, *labelvalues: Any, **labelkwargs: Any) -> ChildT:
        """The child for these label values (created on first use, then cached)."""
        if not labelkwargs:
            try:
                return self._children[labelvalues]
            except (KeyError, TypeError):
                pass
        return self._labels_slow(labelvalues, labelkwargs)

    def _label_key(self, labelvalues: tuple[Any, ...], labelkwargs: dict[str, Any]) -> tuple[str, ...]:
        names = self._labelnames
        if not names:
            raise InvalidLabelsError(
                f"metric {self._name!r} has no labels: call its methods directly, not .labels()"
            )
        if labelvalues and labelkwargs:
            raise InvalidLabelsError(
                f"metric {self._name!r}: pass label values either positionally or by keyword, not both"
            )
        if labelkwargs:
            unknown = sorted(set(labelkwargs) - set(names))
            if unknown:
                raise InvalidLabelsError(
                    f"metric {self._name!r} has no label(s) {', '.join(map(repr, unknown))}; "
                    f"its labels are {list(names)}"
                )
            missing = [n for n in names if n not in labelkwargs]
            if missing:
                raise InvalidLabelsError(
                    f"metric {self._name!r} is missing value(s) for label(s) "
                    f"{', '.join(map(repr, missing))}"
                )
            return tuple(str(labelkwargs[n]) for n in names)
        if len(labelvalues) != len(names):
            raise InvalidLabelsError(
                f"metric {self._name!r} expects {len(names)} label value(s) {list(names)}, "
                f"got {len(labelvalues)}: {labelvalues!r}"
            )
        return tuple(str(v) for v in labelvalues)

    def _labels_slow(self, labelvalues: tuple[Any, ...], labelkwargs: dict[str, Any]) -> ChildT:
        key = self._label_key(labelvalues, labelkwargs)
        child = self._children.get(key)
        if child is not None:
            return child  # keyword or non-str values: validated, but no lock on a hit
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._make_child(key)
                if self._store is not None:
                    self._store.adopt(self, child)
                # Only string tuples are keys: the fast path then never confuses 1, 1.0 and True.
                self._children[key] = child
        return child

    def remove(self, *labelvalues: Any, **labelkwargs: Any) -> None:
        """Forget one child; it disappears from the exposition. Unknown values are ignored."""
        key = self._label_key(labelvalues, labelkwargs)
        with self._lock:
            child = self._children.pop(key, None)
            if child is not None and child._series is not None:
                child._series.retire()  # a dead worker's file must not bring it back

    def clear(self) -> None:
        """Forget every child of a labelled metric."""
        if not self._labelnames:
            raise InvalidLabelsError(f"metric {self._name!r} has no labels: nothing to clear")
        with self._lock:
            children, self._children = self._children, {}
            for child in children.values():
                if child._series is not None:
                    child._series.retire()

    def _attach_store(self, store: Any) -> None:
        """Keep this metric's values (now and future children's) in a worker's value file."""
        with self._lock:
            self._store = store
            for child in self._snapshot():
                store.adopt(self, child)
            self._rebind_default()

    def _detach_store(self) -> None:
        """Private values again (a forked child, or leaving the aggregation)."""
        with self._lock:
            self._store = None
            for child in self._snapshot():
                child._detach_series()
            self._rebind_default()

    def _rebind_default(self) -> None:
        # A gauge child changes class when it moves into a file: bind the new methods.
        child = self._default_child
        if child is not None:
            for method in self._child_methods:
                self.__dict__[method] = getattr(child, method)

    def _snapshot(self) -> list[ChildT]:
        if self._default_child is not None:
            return [self._default_child]
        # dict.values() copied in C under the GIL: safe against concurrent labels() inserts.
        return list(self._children.values())

    def describe(self) -> list[MetricFamily]:
        return [MetricFamily(self._name, self._documentation, self._type, self._unit)]

    def collect(self) -> list[MetricFamily]:
        family = MetricFamily(self._name, self._documentation, self._type, self._unit)
        for child in self._snapshot():
            self._child_samples(child, family)
        return [family]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, labelnames={list(self._labelnames)!r})"
