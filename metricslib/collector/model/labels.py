"""Label sets: sorted (name, value) tuples, hashable, with ``__name__`` for the metric name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["METRIC_NAME", "Labels", "labels_get", "labels_to_dict", "make_labels", "metric_name"]

#: A label set: (name, value) pairs sorted by name, no empty values, including
#: ``__name__`` for metrics. Tuples are hashable, so a label set is a dict key.
Labels = tuple[tuple[str, str], ...]

METRIC_NAME = "__name__"


def make_labels(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Labels:
    """Build a canonical label set; empty values mean "absent" and are dropped."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((k, v) for k, v in items if v != ""))


def labels_to_dict(labels: Labels) -> dict[str, str]:
    return dict(labels)


def labels_get(labels: Labels, name: str) -> str:
    """The value of ``name``, or "" when absent (Prometheus's convention)."""
    for k, v in labels:
        if k == name:
            return v
    return ""


def metric_name(labels: Labels) -> str:
    return labels_get(labels, METRIC_NAME)
