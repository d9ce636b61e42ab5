"""Prometheus's template functions (humanize, query, label, ...) over Go's semantics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["QueryFunc", "TemplateSample"]


@dataclass(frozen=True)
class TemplateSample:
    """One element of a ``query`` result: Prometheus's template ``sample{Labels, Value}``."""

    labels: Mapping[str, str]
    value: float


QueryFunc = Callable[[str], "list[TemplateSample]"]
