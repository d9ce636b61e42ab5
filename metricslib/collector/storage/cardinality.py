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
    names = postings.get("__name__", {})
    return {
        "seriesCountByMetricName": _top(((v, len(ids)) for v, ids in names.items()), limit),
        "labelValueCountByLabelName": _top(((n, len(values)) for n, values in postings.items()), limit),
        "memoryInBytesByLabelName": _top(
            ((n, sum(len(v) for v in values)) for n, values in postings.items()), limit),
        "seriesCountByLabelValuePair": _top(
            ((f"{n}={v}", len(ids)) for n, values in postings.items() for v, ids in values.items()), limit),
    }


def tsdb_status(head: Head, limit: int = 10) -> dict[str, Any]:
    """``/api/v1/status/tsdb``'s data: ``headStats`` and the four top lists.

    Our head holds every series the store knows (there are no persisted blocks
    beside it), so ``numSeries`` counts all of them. ``chunkCount`` counts
    encoded chunks plus one open chunk per series with samples not yet cut,
    as Prometheus counts the open head chunk of each series.
    """
    with head.lock:  # counting is one pass over the postings; no copy of them
        postings = {n: head.index.values_of(n) for n in head.index.label_names()}
        lists = cardinality(postings, limit)
        pairs = sum(len(values) for values in postings.values())
        firsts = [t for t in (s.first_t() for s in head.by_id.values()) if t is not None]
        chunks = sum(len(s.c_ids) + (1 if s.ts else 0) for s in head.by_id.values())
        series, max_t = len(head.by_id), head.max_t
    head_stats = {
        "numSeries": series,
        "numLabelPairs": pairs,
        "chunkCount": chunks,
        "minTime": min(firsts) if firsts else EMPTY_MIN_TIME,
        "maxTime": max_t if firsts and max_t != NO_TIME else EMPTY_MAX_TIME,
    }
    return {"headStats": head_stats, **lists}
