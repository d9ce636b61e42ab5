"""Helpers for custom collectors, shaped like ``prometheus_client.core``'s.

A collector written for prometheus_client ports by changing its imports::

    class QueueCollector:
        def collect(self):
            g = GaugeMetricFamily("queue_depth", "Jobs waiting", labels=["queue"])
            g.add_metric(["emails"], 7)
            yield g

Values are converted to ``float`` when added, so a bad value fails in the
collector with the metric's name rather than later, during exposition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from metricslib.errors import InvalidLabelsError, InvalidMetricError, InvalidValueError
from metricslib.model import Exemplar, MetricFamily, Sample, format_value, validate_labelnames

__all__ = [
    "CounterMetricFamily",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "InfoMetricFamily",
    "StateSetMetricFamily",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
]


def _number(family: MetricFamily, what: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValueError(f"metric {family.name!r}: {what} {value!r} is not a number") from None


class _LabelledFamily(MetricFamily):
    """A family whose ``add_metric`` takes label values in ``labels`` order."""

    __slots__ = ("_labelnames",)

    def __init__(
        self,
        name: str,
        documentation: str,
        typ: str,
        unit: str,
        labels: Sequence[str] | None,
        value_given: bool,
        reserved: Sequence[str] = (),
    ) -> None:
        super().__init__(name, documentation, typ, unit)
        if labels is not None and value_given:
            raise InvalidMetricError(
                f"metric {self.name!r}: pass either labels (then add_metric) or a value, not both"
            )
        self._labelnames = validate_labelnames(self.name, labels or (), reserved)

    def _labels(self, values: Sequence[str]) -> dict[str, str]:
        if isinstance(values, str) or len(values) != len(self._labelnames):
            raise InvalidLabelsError(
                f"metric {self.name!r} expects {len(self._labelnames)} label value(s) "
                f"{list(self._labelnames)}, got {values!r}"
            )
        return dict(zip(self._labelnames, (str(v) for v in values), strict=True))


class CounterMetricFamily(_LabelledFamily):
    """A counter for custom collectors; a trailing ``_total`` on ``name`` is dropped."""

    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        created: float | None = None,
        unit: str = "",
        exemplar: Exemplar | None = None,
    ) -> None:
        if name.endswith("_total"):
            name = name[:-6]
        super().__init__(name, documentation, "counter", unit, labels, value is not None)
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(
        self,
        labels: Sequence[str],
        value: float,
        created: float | None = None,
        timestamp: float | None = None,
        exemplar: Exemplar | None = None,
    ) -> None:
        label_dict = self._labels(labels)
        number = _number(self, "value", value)
        if number < 0:
            raise InvalidValueError(f"counter {self.name!r} value {number!r} is negative")
        self.samples.append(Sample(self.name + "_total", label_dict, number, timestamp, exemplar))
        if created is not None:
            self.samples.append(
                Sample(self.name + "_created", dict(label_dict), _number(self, "created", created), timestamp)
            )


class GaugeMetricFamily(_LabelledFamily):
    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "gauge", unit, labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: float | None = None) -> None:
        self.samples.append(Sample(self.name, self._labels(labels), _number(self, "value", value), timestamp))


class UnknownMetricFamily(_LabelledFamily):
    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "unknown", unit, labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: float | None = None) -> None:
        self.samples.append(Sample(self.name, self._labels(labels), _number(self, "value", value), timestamp))


# prometheus_client's older spelling.
UntypedMetricFamily = UnknownMetricFamily


class SummaryMetricFamily(_LabelledFamily):
    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        count_value: float | None = None,
        sum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        if (count_value is None) != (sum_value is None):
            raise InvalidMetricError(f"summary {name!r}: give both count_value and sum_value, or neither")
        super().__init__(name, documentation, "summary", unit, labels, count_value is not None, ("quantile",))
        if count_value is not None and sum_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(
        self, labels: Sequence[str], count_value: float, sum_value: float, timestamp: float | None = None
    ) -> None:
        label_dict = self._labels(labels)
        self.samples.append(Sample(self.name + "_count", label_dict, _number(self, "count", count_value), timestamp))
        self.samples.append(Sample(self.name + "_sum", dict(label_dict), _number(self, "sum", sum_value), timestamp))


def _bucket_samples(
    family: MetricFamily,
    label_dict: dict[str, str],
    buckets: Sequence[tuple[object, ...]],
    timestamp: float | None,
) -> float:
    """Append ``_bucket`` samples; return the +Inf count. Buckets are (le, count[, exemplar])."""
    if not buckets:
        raise InvalidMetricError(f"histogram {family.name!r}: add_metric needs at least the +Inf bucket")
    previous = -float("inf")
    last_count = 0.0
    for bucket in buckets:
        le, count = bucket[0], bucket[1]
        exemplar = bucket[2] if len(bucket) > 2 else None
        bound = _number(family, "bucket bound", le)
        if bound <= previous:
            raise InvalidMetricError(f"histogram {family.name!r}: bucket bounds not increasing at {le!r}")
        previous = bound
        last_count = _number(family, "bucket count", count)
        labels = dict(label_dict)
        labels["le"] = format_value(bound)
        family.samples.append(
            Sample(family.name + "_bucket", labels, last_count, timestamp, exemplar)  # type: ignore[arg-type]
        )
    if previous != float("inf"):
        raise InvalidMetricError(f"histogram {family.name!r}: the last bucket must be '+Inf'")
    return last_count


class HistogramMetricFamily(_LabelledFamily):
    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[tuple[object, ...]] | None = None,
        sum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "histogram", unit, labels, buckets is not None, ("le",))
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: Sequence[tuple[object, ...]],
        sum_value: float | None,
        timestamp: float | None = None,
    ) -> None:
        label_dict = self._labels(labels)
        count = _bucket_samples(self, label_dict, buckets, timestamp)
        if sum_value is not None:
            self.samples.append(Sample(self.name + "_count", dict(label_dict), count, timestamp))
            self.samples.append(Sample(self.name + "_sum", dict(label_dict), _number(self, "sum", sum_value), timestamp))


class GaugeHistogramMetricFamily(_LabelledFamily):
    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[tuple[object, ...]] | None = None,
        gsum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "gaugehistogram", unit, labels, buckets is not None, ("le",))
        if buckets is not None:
            self.add_metric([], buckets, gsum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: Sequence[tuple[object, ...]],
        gsum_value: float | None,
        timestamp: float | None = None,
    ) -> None:
        label_dict = self._labels(labels)
        count = _bucket_samples(self, label_dict, buckets, timestamp)
        if gsum_value is not None:
            self.samples.append(Sample(self.name + "_gcount", dict(label_dict), count, timestamp))
            self.samples.append(
                Sample(self.name + "_gsum", dict(label_dict), _number(self, "gsum", gsum_value), timestamp)
            )


class InfoMetricFamily(_LabelledFamily):
    """Key-value metadata; a trailing ``_info`` on ``name`` is dropped."""

    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Mapping[str, str] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name, documentation, "info", "", labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(
        self, labels: Sequence[str], value: Mapping[str, str], timestamp: float | None = None
    ) -> None:
        label_dict = self._labels(labels)
        for key in validate_labelnames(self.name, value.keys()):
            if key in label_dict:
                raise InvalidLabelsError(f"info {self.name!r}: key {key!r} clashes with a label name")
            label_dict[key] = str(value[key])
        self.samples.append(Sample(self.name + "_info", label_dict, 1.0, timestamp))


class StateSetMetricFamily(_LabelledFamily):
    """A set of named boolean states (the family name is the state label)."""

    __slots__ = ()

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Mapping[str, bool] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name, documentation, "stateset", "", labels, value is not None)
        if self.name in self._labelnames:
            raise InvalidLabelsError(f"stateset {self.name!r} cannot have a label named like itself")
        if value is not None:
            self.add_metric([], value)

    def add_metric(
        self, labels: Sequence[str], value: Mapping[str, bool], timestamp: float | None = None
    ) -> None:
        label_dict = self._labels(labels)
        for state, enabled in value.items():
            state_labels = dict(label_dict)
            state_labels[self.name] = str(state)
            self.samples.append(Sample(self.name, state_labels, 1.0 if enabled else 0.0, timestamp))
