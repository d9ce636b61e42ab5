"""Shared vocabulary of the SDK: name rules, escaping, Sample, Exemplar, MetricFamily.

Everything here is pure (no registry, no I/O) so the instruments, the
exposition writers and other engineers' code (multi-worker aggregation,
custom collectors) agree on one definition of a sample.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from metricslib.errors import InvalidLabelsError, InvalidMetricError, InvalidNameError

__all__ = [
    "LABEL_NAME_RE",
    "METRIC_NAME_RE",
    "METRIC_TYPES",
    "Exemplar",
    "FamilyLike",
    "Metric",
    "MetricFamily",
    "Sample",
    "SampleLike",
    "escape_help",
    "escape_label_value",
    "exemplar_text",
    "format_value",
    "validate_exemplar",
    "validate_label_name",
    "validate_labelnames",
    "validate_metric_name",
]

METRIC_TYPES = frozenset(
    {"counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset"}
)

#: The Prometheus name grammars, shared with the collector (config, relabelling, API).
METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# OpenMetrics caps an exemplar's label set (names plus values) at 128 UTF-8 characters.
EXEMPLAR_MAX_RUNES = 128


def validate_metric_name(name: object) -> str:
    """Return ``name`` if it is a valid Prometheus metric name, else raise InvalidNameError."""
    if not isinstance(name, str) or METRIC_NAME_RE.fullmatch(name) is None:
        raise InvalidNameError(
            f"invalid metric name {name!r}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        )
    return name


def validate_label_name(name: object, metric: str = "") -> str:
    """Return ``name`` if it is a usable label name (grammar, no ``__`` prefix)."""
    where = f" on metric {metric!r}" if metric else ""
    if not isinstance(name, str) or LABEL_NAME_RE.fullmatch(name) is None:
        raise InvalidNameError(
            f"invalid label name {name!r}{where}: must match [a-zA-Z_][a-zA-Z0-9_]*"
        )
    if name.startswith("__"):
        raise InvalidLabelsError(
            f"label name {name!r}{where} is reserved: names starting with '__' are for Prometheus"
        )
    return name


def validate_labelnames(
    metric: str, labelnames: Iterable[str], reserved: Iterable[str] = ()
) -> tuple[str, ...]:
    """Validate a metric's label names: grammar, reserved names, duplicates."""
    if isinstance(labelnames, str):
        # ``labelnames="method"`` would otherwise silently become six one-letter labels.
        raise InvalidLabelsError(
            f"labelnames of metric {metric!r} must be a sequence of names, not the string {labelnames!r}"
        )
    names = tuple(labelnames)
    reserved_set = frozenset(reserved)
    seen: set[str] = set()
    for label in names:
        validate_label_name(label, metric)
        if label in reserved_set:
            raise InvalidLabelsError(
                f"label name {label!r} is reserved on metric {metric!r} (its type adds it itself)"
            )
        if label in seen:
            raise InvalidLabelsError(f"label name {label!r} appears twice on metric {metric!r}")
        seen.add(label)
    return names


def escape_label_value(value: str) -> str:
    """Escape a label value for both text formats: backslash, double quote, newline."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def escape_help(text: str, openmetrics: bool = False) -> str:
    """Escape HELP text: backslash and newline (and double quote in OpenMetrics)."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    if openmetrics:
        text = text.replace('"', '\\"')
    return text


def format_value(value: float) -> str:
    """Render a float as Go's client libraries (and ``prometheus_client``) do.

    ``+Inf``/``-Inf``/``NaN`` spelled the Prometheus way; Python's repr
    otherwise, but switching to an exponent as soon as Go does (more than six
    digits before the point), so ``le`` and ``quantile`` labels compare equal
    to the ones other clients print.
    """
    d = float(value)
    if d != d:
        return "NaN"
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


def exemplar_text(exemplar: Exemplar) -> str:
    """OpenMetrics exemplar suffix: `` # {labels} value [timestamp]``."""
    labels = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(exemplar.labels.items()))
    ts = exemplar.timestamp
    ts_text = "" if ts is None else " " + (str(int(ts)) if float(ts).is_integer() else repr(float(ts)))
    return f" # {{{labels}}} {format_value(exemplar.value)}{ts_text}"


class Exemplar(NamedTuple):
    """A trace-linked example observation (OpenMetrics only)."""

    labels: dict[str, str]
    value: float
    timestamp: float | None = None


class Sample(NamedTuple):
    """One exposed value: full sample name (with suffix), labels, value."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    exemplar: Exemplar | None = None


class SampleLike(Protocol):
    """What the exposition writers read from a sample (``Sample`` or plain data)."""

    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> float | None: ...
    @property
    def exemplar(self) -> Exemplar | None: ...


class FamilyLike(Protocol):
    """What the exposition writers read from a family, e.g. families merged across workers."""

    @property
    def name(self) -> str: ...
    @property
    def documentation(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def samples(self) -> Sequence[SampleLike]: ...


def validate_exemplar(exemplar: Mapping[str, str], metric: str = "") -> dict[str, str]:
    """Check exemplar labels (names, 128-character cap); return them as a str dict."""
    labels: dict[str, str] = {}
    runes = 0
    for key, value in exemplar.items():
        validate_label_name(key, metric)
        text = str(value)
        labels[key] = text
        runes += len(key) + len(text)
    if runes > EXEMPLAR_MAX_RUNES:
        raise InvalidLabelsError(
            f"exemplar labels {labels!r} on metric {metric!r} have {runes} characters; "
            f"OpenMetrics allows at most {EXEMPLAR_MAX_RUNES}"
        )
    return labels


class MetricFamily:
    """A named group of samples with one type, help text and unit.

    Same shape as ``prometheus_client.Metric``: counters drop a trailing
    ``_total`` and infos a trailing ``_info`` from the family name, because
    the samples carry those suffixes.
    """

    __slots__ = ("documentation", "name", "samples", "type", "unit")

    def __init__(self, name: str, documentation: str, typ: str, unit: str = "") -> None:
        if unit and not name.endswith("_" + unit):
            raise InvalidNameError(f"metric name {name!r} must end with its unit '_{unit}'")
        if typ not in METRIC_TYPES:
            raise InvalidMetricError(
                f"invalid metric type {typ!r} for {name!r}: expected one of {sorted(METRIC_TYPES)}"
            )
        if typ == "counter" and name.endswith("_total"):
            name = name[:-6]
        elif typ == "info" and name.endswith("_info"):
            name = name[:-5]
        validate_metric_name(name)
        self.name = name
        self.documentation = documentation
        self.type = typ
        self.unit = unit
        self.samples: list[Sample] = []

    def add_sample(
        self,
        name: str,
        labels: dict[str, str],
        value: float,
        timestamp: float | None = None,
        exemplar: Exemplar | None = None,
    ) -> None:
        self.samples.append(Sample(name, labels, value, timestamp, exemplar))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MetricFamily)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"MetricFamily({self.name!r}, {self.documentation!r}, {self.type!r}, "
            f"{self.unit!r}, samples={self.samples!r})"
        )


# prometheus_client spells the family class ``Metric``; custom collectors port unchanged.
Metric = MetricFamily
