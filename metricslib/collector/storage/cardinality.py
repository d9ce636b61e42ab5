"""Cardinality of the head, as Prometheus's TSDB status page reports it.

Counts come from the postings index: series per metric name, distinct values
per label name, label bytes per label name (the lengths of its distinct values,
each counted once as Prometheus 2.42 does: values live once in the symbol
table) and series per label pair. Each list is the top ``limit``,
largest first, ties by name. :func:`tsdb_status` adds the head's own numbers
(``headStats``) and reads everything in one critical section of the head lock.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import Any

from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import NO_TIME

__all__ = ["cardinality", "tsdb_status"]

#: What Prometheus answers for the time range of an empty head (math.MaxInt64, math.MinInt64).
EMPTY_MIN_TIME = 2**63 - 1
EMPTY_MAX_TIME = NO_TIME


def _top(items: Iterable[tuple[str, int]], limit: int) -> list[dict[str, Any]]:
    best = heapq.nsmallest(limit, items, key=lambda kv: (-kv[1], kv[0]))
    return [{"name": name, "value": value} for name, value in best]


def cardinality(postings: Mapping[str, Mapping[str, set[int]]], limit: int = 10) -> dict[str, Any]:
    """The four top-``limit`` lists of ``/api/v1/status/tsdb``, from label name -> value -> series ids."""
    return _top_lists({n: {v: len(ids) for v, ids in values.items()} for n, values in postings.items()}, limit)


def _top_lists(counts: Mapping[str, Mapping[str, int]], limit: int) -> dict[str, Any]:
    """The lists from label name -> value -> number of series."""
    names = counts.get("__name__", {})
    return {
        "seriesCountByMetricName": _top(names.items(), limit),
        "labelValueCountByLabelName": _top(((n, len(values)) for n, values in counts.items()), limit),
        "memoryInBytesByLabelName": _top(((n, sum(map(len, values))) for n, values in counts.items()), limit),
        "seriesCountByLabelValuePair": _top(
            ((f"{n}={v}", c) for n, values in counts.items() for v, c in values.items()), limit),
    }


def tsdb_status(head: Head, limit: int = 10) -> dict[str, Any]:
    """``/api/v1/status/tsdb``'s data: ``headStats`` and the four top lists.

    Our head holds every series the store knows (there are no persisted blocks
    beside it), so ``numSeries`` counts all of them. ``chunkCount`` counts
    encoded chunks plus one open chunk per series with samples not yet cut,
    as Prometheus counts the open head chunk of each series.
    """
    min_t, chunks = EMPTY_MIN_TIME, 0
    # Under the lock only counts are taken (appends wait for it); ranking happens after.
    with head.lock:
        index = head.index
        counts = {n: {v: len(ids) for v, ids in index.values_of(n).items()} for n in index.label_names()}
        for s in head.by_id.values():
            first = s.first_t()
            if first is not None and first < min_t:
                min_t = first
            chunks += len(s.c_ids) + (1 if s.ts or s.pending() else 0)
        series, max_t = len(head.by_id), head.max_t
    empty = min_t == EMPTY_MIN_TIME
    head_stats = {
        "numSeries": series,
        "numLabelPairs": sum(len(values) for values in counts.values()),
        "chunkCount": chunks,
        "minTime": min_t,
        "maxTime": EMPTY_MAX_TIME if empty or max_t == NO_TIME else max_t,
    }
    return {"headStats": head_stats, **_top_lists(counts, limit)}
