"""Metric names and labels of the HTTP middleware: our default, presets, overrides.

A preset reproduces another library's conventions so dashboards and alerts
written for it keep working after the switch. Only the names and label sets
live here (sans-I/O); :mod:`metricslib._http_metrics` builds the instruments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metricslib.errors import InvalidMetricError

__all__ = ["PRESETS", "ROLES", "Naming", "naming"]

#: What each metric of the set is for, by role.
ROLES = (
    "requests_total",
    "request_duration_seconds",
    "requests_in_flight",
    "request_exceptions_total",
    "request_size_bytes",
    "response_size_bytes",
)
_LABELS = ("method", "code", "route")


@dataclass(frozen=True)
class Naming:
    """Resolved names (by role), the request metrics' label names in order, and
    whether methods are written in lower case (Go's promhttp does)."""

    names: tuple[tuple[str, str], ...]
    labels: tuple[str, ...]
    lowercase_methods: bool = False

    def name(self, role: str) -> str:
        return dict(self.names)[role]


# Go's promhttp, as the usual InstrumentHandler* wiring names it: the
# scenario's `image_gallery_requests_total{code,method}` and
# `image_gallery_in_flight_requests`.
PRESETS: Mapping[str, tuple[Mapping[str, str], tuple[str, ...], bool]] = {
    "promhttp": ({"requests_in_flight": "{ns}_in_flight_requests"}, ("code", "method"), True),
}


def naming(
    namespace: str,
    preset: str | None = None,
    names: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
) -> Naming:
    """Our names (``<namespace>_requests_total`` ...), changed by a preset, then by
    per-role ``names`` and a ``labels`` subset; unknown roles, labels or presets are errors."""
    resolved = {role: f"{namespace}_{role}" for role in ROLES}
    label_names: tuple[str, ...] = _LABELS
    lower = False
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidMetricError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
        preset_names, label_names, lower = PRESETS[preset]
        resolved.update({role: name.format(ns=namespace) for role, name in preset_names.items()})
    for role, name in (names or {}).items():
        if role not in resolved:
            raise InvalidMetricError(f"names: unknown metric {role!r}; known: {', '.join(ROLES)}")
        if not isinstance(name, str) or not name:
            raise InvalidMetricError(f"names[{role!r}] must be a metric name, got {name!r}")
        resolved[role] = name
    if labels is not None:
        if isinstance(labels, str):
            raise InvalidMetricError(f"labels must be a sequence of label names, got the string {labels!r}")
        unknown = [label for label in labels if label not in _LABELS]
        if unknown or len(set(labels)) != len(labels):
            raise InvalidMetricError(
                f"labels {list(labels)!r}: each must be one of {', '.join(_LABELS)}, at most once"
            )
        label_names = tuple(labels)
    return Naming(tuple(resolved.items()), label_names, lower)
