"""Info (constant key-value metadata) and Enum (one state out of a fixed set)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from metricslib.errors import InvalidLabelsError, InvalidMetricError, InvalidValueError
from metricslib.instruments._base import ChildBase, MetricBase
from metricslib.model import MetricFamily, Sample, validate_label_name
from metricslib.registry import REGISTRY

if TYPE_CHECKING:
    from metricslib.registry import Registry

__all__ = ["Enum", "EnumChild", "Info", "InfoChild"]


class InfoChild(ChildBase):
    """One labelled series of an Info."""

    __slots__ = ("_info", "_labelnames", "_metric")

    def __init__(self, metric: str, labelnames: Sequence[str], labelvalues: tuple[str, ...]) -> None:
        super().__init__(labelnames, labelvalues)
        self._metric = metric
        self._labelnames = frozenset(labelnames)
        self._info: dict[str, str] = {}

    def info(self, val: Mapping[str, str]) -> None:
        """Replace the key-value pairs (exposed as labels of ``<name>_info``)."""
        checked: dict[str, str] = {}
        for key, value in val.items():
            validate_label_name(key, self._metric)
            if key in self._labelnames:
                raise InvalidLabelsError(
                    f"info {self._metric!r}: key {key!r} clashes with one of its label names"
                )
            checked[key] = str(value)
        self._info = checked  # one reference swap: readers never see a half-updated dict

    def get(self) -> dict[str, str]:
        return dict(self._info)


class Info(MetricBase[InfoChild]):
    """Key-value metadata, exposed as ``<name>_info{...} 1``."""

    _type = "info"
    _child_methods = ("info", "get")

    def _make_child(self, labelvalues: tuple[str, ...]) -> InfoChild:
        return InfoChild(self._name, self._labelnames, labelvalues)

    def info(self, val: Mapping[str, str]) -> None:
        raise self._needs_labels("info")

    def get(self) -> dict[str, str]:
        raise self._needs_labels("get")

    def _child_samples(self, child: InfoChild, family: MetricFamily) -> None:
        family.samples.append(Sample(self._name + "_info", {**child._labels, **child._info}, 1.0))


class EnumChild(ChildBase):
    """One labelled series of an Enum."""

    __slots__ = ("_metric", "_states", "_value")

    def __init__(
        self, metric: str, states: Sequence[str], labelnames: Sequence[str], labelvalues: tuple[str, ...]
    ) -> None:
        super().__init__(labelnames, labelvalues)
        self._metric = metric
        self._states = states
        self._value = 0

    def state(self, state: str) -> None:
        """Switch to ``state`` (one of the states given to the Enum)."""
        try:
            index = self._states.index(state)
        except ValueError:
            raise InvalidValueError(
                f"enum {self._metric!r} has no state {state!r}; its states are {list(self._states)}"
            ) from None
        self._value = index

    def get(self) -> str:
        return self._states[self._value]


class Enum(MetricBase[EnumChild]):
    """One of a fixed set of states, exposed as a StateSet (gauges in text 0.0.4)."""

    _type = "stateset"
    _child_methods = ("state", "get")

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Registry | None = REGISTRY,
        states: Sequence[str] | None = None,
    ) -> None:
        if not states:
            raise InvalidMetricError(f"enum {name!r} needs a non-empty list of states")
        if len(set(states)) != len(states):
            raise InvalidMetricError(f"enum {name!r}: states {list(states)} contain duplicates")
        self._states = [str(s) for s in states]
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry)

    def _check_labelnames(self) -> None:
        if self._name in self._labelnames:
            raise InvalidLabelsError(
                f"enum {self._name!r} cannot have a label named like itself: it holds the state"
            )

    def _make_child(self, labelvalues: tuple[str, ...]) -> EnumChild:
        return EnumChild(self._name, self._states, self._labelnames, labelvalues)

    def state(self, state: str) -> None:
        raise self._needs_labels("state")

    def get(self) -> str:
        raise self._needs_labels("get")

    def _child_samples(self, child: EnumChild, family: MetricFamily) -> None:
        current = child._value
        for i, state in enumerate(self._states):
            labels = dict(child._labels)
            labels[self._name] = state
            family.samples.append(Sample(self._name, labels, 1.0 if i == current else 0.0))
