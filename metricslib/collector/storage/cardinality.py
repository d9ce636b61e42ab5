"""Cardinality of the head, as Prometheus's TSDB status page reports it.

Counts come from the postings index: series per metric name, distinct values
per label name, label bytes per label name (each value's length times the
series carrying it) and series per label pair. Each list is the top ``limit``,
largest first, ties by name.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["cardinality"]


def _top(items: Iterable[tuple[str, int]], limit: int) -> list[dict[str, Any]]:
    best = heapq.nsmallest(limit, items, key=lambda kv: (-kv[1], kv[0]))
    return [{"name": name, "value": value} for name, value in best]


def cardinality(postings: Mapping[str, Mapping[str, set[int]]], limit: int = 10) -> dict[str, Any]:
    """The four top-``limit`` lists of ``/api/v1/status/tsdb``, from label name -> value -> series ids."""
    names = postings.get("__name__", {})
    return {
        "seriesCountByMetricName": _top(((v, len(ids)) for v, ids in names.items()), limit),
        "labelValueCountByLabelName": _top(((n, len(values)) for n, values in postings.items()), limit),
        "memoryInBytesByLabelName": _top(
            ((n, sum(len(v) * len(ids) for v, ids in values.items())) for n, values in postings.items()), limit),
        "seriesCountByLabelValuePair": _top(
            ((f"{n}={v}", len(ids)) for n, values in postings.items() for v, ids in values.items()), limit),
    }
