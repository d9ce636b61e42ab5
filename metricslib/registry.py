"""Registry: holds collectors, applies default labels, answers ``collect()``.

Anything with a ``collect()`` method returning metric families is a
collector (our instruments, ``prometheus_client``-style custom collectors,
the process collectors). A registry refuses a collector whose names clash
with one it already holds, naming both, so a metric created twice fails
loudly instead of exposing duplicated series.
"""

from __future__ import annotations

import os
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from metricslib.errors import DuplicateMetricError, InvalidLabelsError
from metricslib.model import MetricFamily, Sample, validate_label_name

__all__ = [
    "REGISTRY",
    "Collector",
    "CollectorRegistry",
    "Registry",
    "RestrictedRegistry",
    "SupportsCollect",
    "disable_created_metrics",
    "enable_created_metrics",
]

# Sample names each family type occupies besides its own name (as prometheus_client counts them).
_TYPE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}

# Default labels may not take names that types add to their own samples.
_RESERVED_DEFAULT_LABELS = frozenset({"le", "quantile"})


_created_default = True

# Every registry, so a forked child can give them fresh locks.
_REGISTRIES: weakref.WeakSet[Registry] = weakref.WeakSet()


def _new_locks_after_fork() -> None:
    # A fork while another thread held a lock would leave the child's copy locked forever.
    for registry in list(_REGISTRIES):
        registry._lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_locks_after_fork)


def disable_created_metrics() -> None:
    """Drop ``_created`` series from every registry that does not choose itself."""
    global _created_default
    _created_default = False


def enable_created_metrics() -> None:
    """Undo ``disable_created_metrics()``."""
    global _created_default
    _created_default = True


@runtime_checkable
class SupportsCollect(Protocol):
    """The collector protocol: ``collect()`` returns metric families."""

    def collect(self) -> Iterable[MetricFamily]: ...


class Collector(ABC):
    """Optional base class for custom collectors (as ``prometheus_client.registry.Collector``).

    ``describe()`` may return families without samples so registration can
    check names without calling ``collect()``; the default returns nothing,
    which opts out of name checks.
    """

    @abstractmethod
    def collect(self) -> Iterable[MetricFamily]: ...

    def describe(self) -> Iterable[MetricFamily]:
        return []


def family_names(families: Iterable[MetricFamily]) -> list[str]:
    """Every sample name the families can expose (used to detect clashes)."""
    names: list[str] = []
    for family in families:
        names.append(family.name)
        names.extend(family.name + suffix for suffix in _TYPE_SUFFIXES.get(family.type, ()))
    return names


def _check_default_labels(labels: Mapping[str, object]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in labels.items():
        validate_label_name(name)
        if name in _RESERVED_DEFAULT_LABELS:
            raise InvalidLabelsError(
                f"default label {name!r} is reserved: histograms and summaries set it per sample"
            )
        checked[name] = str(value)
    return checked


def merge_labels(labels: dict[str, str], defaults: Mapping[str, str]) -> dict[str, str]:
    """A sample's labels followed by the default labels it does not set itself."""
    merged = dict(labels)
    for name, value in defaults.items():
        if name not in merged:
            merged[name] = value
    return merged


class Registry:
    """A set of collectors exposed together.

    ``default_labels`` are added to every sample at collection time (a
    sample's own label of the same name wins). ``created_samples=False``
    drops the ``_created`` series from OpenMetrics output (text 0.0.4 never
    has them); ``None`` follows ``disable_created_metrics()``. A collector
    without ``describe()`` is described by calling its ``collect()`` once at
    registration, so its names are checked too; ``auto_describe=False``
    skips that call (and the check), as prometheus_client does by default.
    """

    def __init__(
        self,
        auto_describe: bool = True,
        target_info: Mapping[str, str] | None = None,
        *,
        default_labels: Mapping[str, object] | None = None,
        created_samples: bool | None = None,
    ) -> None:
        # Re-entrant, so a finalizer run by a GC pass while we hold it may (un)register safely.
        self._lock = threading.RLock()
        # id(collector) -> (collector, names); ids because collectors need not be hashable.
        self._collectors: dict[int, tuple[SupportsCollect, list[str]]] = {}
        self._names: dict[str, SupportsCollect] = {}
        # Replaced, never mutated: readers take one reference and see a consistent dict.
        self._default_labels: dict[str, str] = _check_default_labels(default_labels or {})
        self._target_info: dict[str, str] | None = None
        # None follows the process-wide switch (disable_created_metrics()).
        self.created_samples = created_samples
        self.auto_describe = auto_describe
        if target_info is not None:
            self.set_target_info(target_info)
        _REGISTRIES.add(self)

    # -- registration ---------------------------------------------------------------------

    def register(self, collector: SupportsCollect) -> None:
        """Add a collector; raise DuplicateMetricError if any of its names is taken."""
        describe = getattr(collector, "describe", None)
        if describe is not None:
            names = family_names(describe())
        elif self.auto_describe:
            names = family_names(collector.collect())
        else:
            names = []  # as prometheus_client: not described, so not checked for clashes
        with self._lock:
            if id(collector) in self._collectors:
                raise DuplicateMetricError(f"{collector!r} is already registered in this registry")
            clashes = [n for n in dict.fromkeys(names) if n in self._names]
            if clashes:
                owner = self._names[clashes[0]]
                raise DuplicateMetricError(
                    f"cannot register {collector!r}: name(s) {', '.join(map(repr, clashes))} "
                    f"already belong to {owner!r} in this registry. A metric created twice "
                    "(module imported twice, app factory or test setup run again) causes this: "
                    "create metrics once, or give each app/test its own Registry(), "
                    "or unregister() the old collector first"
                )
            for n in names:
                self._names[n] = collector
            self._collectors[id(collector)] = (collector, names)

    def unregister(self, collector: SupportsCollect) -> None:
        """Remove a collector; a collector that is not registered is ignored."""
        with self._lock:
            entry = self._collectors.pop(id(collector), None)
            if entry is not None:
                for n in entry[1]:
                    if self._names.get(n) is collector:
                        del self._names[n]

    def _snapshot(self) -> list[SupportsCollect]:
        # Collectors run outside the lock: one may (un)register others without deadlocking.
        with self._lock:
            return [c for c, _ in self._collectors.values()]

    # -- default labels and target info ----------------------------------------------------

    @property
    def default_labels(self) -> dict[str, str]:
        return dict(self._default_labels)

    def set_default_labels(self, labels: Mapping[str, object]) -> None:
        """Replace the labels added to every sample (``{}`` removes them)."""
        self._default_labels = _check_default_labels(labels)

    def set_target_info(self, labels: Mapping[str, str] | None) -> None:
        """Expose ``target_info{...} 1`` first (OpenMetrics target metadata), or stop with None."""
        if labels is None:
            self._target_info = None
            return
        checked = {validate_label_name(k): str(v) for k, v in labels.items()}
        with self._lock:
            if self._target_info is None and "target_info" in self._names:
                raise DuplicateMetricError("name 'target_info' is already registered in this registry")
            self._target_info = checked

    def get_target_info(self) -> dict[str, str] | None:
        return None if self._target_info is None else dict(self._target_info)

    def _target_info_family(self) -> MetricFamily | None:
        if self._target_info is None:
            return None
        family = MetricFamily("target", "Target metadata", "info")
        family.add_sample("target_info", dict(self._target_info), 1.0)
        return family

    # -- collection -----------------------------------------------------------------------

    def _created_enabled(self) -> bool:
        return _created_default if self.created_samples is None else self.created_samples

    def _adjust(self, family: MetricFamily, defaults: Mapping[str, str]) -> MetricFamily:
        drop_created = not self._created_enabled()
        if not defaults and not drop_created:
            return family
        created = family.name + "_created"
        adjusted = MetricFamily.__new__(MetricFamily)
        adjusted.name = family.name
        adjusted.documentation = family.documentation
        adjusted.type = family.type
        adjusted.unit = family.unit
        adjusted.samples = [
            Sample(s.name, merge_labels(s.labels, defaults), s.value, s.timestamp, s.exemplar)
            if defaults
            else s
            for s in family.samples
            if not (drop_created and s.name == created)
        ]
        return adjusted

    def collect(self) -> Iterator[MetricFamily]:
        """Every family of every collector, with default labels applied."""
        defaults = self._default_labels
        target = self._target_info_family()
        if target is not None:
            yield self._adjust(target, defaults)
        for collector in self._snapshot():
            for family in collector.collect():
                yield self._adjust(family, defaults)

    def get_sample_value(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        """Value of the sample ``name`` with exactly these labels, or None.

        Default labels are applied to the query as they are to samples: you
        may leave them out (``{"method": "GET"}``) or spell them out.
        """
        wanted = merge_labels(dict(labels or {}), self._default_labels)
        for family in self.collect():
            for sample in family.samples:
                if sample.name == name and sample.labels == wanted:
                    return sample.value
        return None

    def restricted_registry(self, names: Iterable[str]) -> RestrictedRegistry:
        """A view whose ``collect()`` yields only samples with these names (``name[]`` filters)."""
        return RestrictedRegistry(self, names)


class RestrictedRegistry:
    """Read-only view of a registry limited to some sample names."""

    def __init__(self, registry: Registry, names: Iterable[str]) -> None:
        self._registry = registry
        self._names = frozenset(names)

    def collect(self) -> Iterator[MetricFamily]:
        for family in self._registry.collect():
            samples = [s for s in family.samples if s.name in self._names]
            if samples:
                restricted = MetricFamily.__new__(MetricFamily)
                restricted.name = family.name
                restricted.documentation = family.documentation
                restricted.type = family.type
                restricted.unit = family.unit
                restricted.samples = samples
                yield restricted


# prometheus_client's spelling.
CollectorRegistry = Registry

# The default registry. Process collectors are added by ``metricslib.process``.
REGISTRY = Registry()
