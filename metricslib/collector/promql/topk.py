"""topk/bottomk exactly as Prometheus chooses, ties included.

Prometheus 2.42 feeds each group's samples, in input order (label-sorted, as
storage returns them), through a Go ``container/heap`` of size k and keeps
whatever the heap holds at the end. A sample enters a full heap only when
strictly better than the root (or the root is NaN); it then pops the root and
pushes itself. On ties the earlier series usually wins, but not always: which
one survives depends on the heap's shape. (Prometheus 3 overwrites the root
and re-heapifies instead, which can keep a different tied series; we follow
2.42, the version the differential tests run against.) Instant results list each group's heap after Go's ``sort.Sort``
(an insertion sort for the small heaps that occur in practice), best first.

Without ties or NaNs the k best values are the answer whatever the order, so
:func:`k_best_columns` computes those columns with numpy and replays the heap
only for the columns where it matters.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from metricslib.collector.promql.values import FloatArray

__all__ = ["go_heap_k", "go_sorted_best_first", "k_best_columns"]

BoolArray = npt.NDArray[np.bool_]

# Go's pdqsort falls back to insertion sort (stable) for up to 12 elements.
_GO_INSERTION_SORT_MAX = 12


def _less(op: str) -> Callable[[float, float], bool]:
    """The heap's Less: NaN sorts first (is evicted first); topk is a min-heap, bottomk a max-heap."""
    if op == "topk":
        return lambda a, b: math.isnan(a) or a < b
    return lambda a, b: math.isnan(a) or a > b


def go_heap_k(op: str, values: list[float], k: int) -> list[int]:
    """Indices into ``values`` that Prometheus's heap holds after seeing them in order, in heap order."""
    if k < 1:
        return []
    less = _less(op)
    heap: list[int] = []

    def up(j: int) -> None:
        while j > 0:
            i = (j - 1) // 2
            if not less(values[heap[j]], values[heap[i]]):
                break
            heap[i], heap[j] = heap[j], heap[i]
            j = i

    def down(i: int) -> None:
        n = len(heap)
        while True:
            j = 2 * i + 1
            if j >= n:
                break
            if j + 1 < n and less(values[heap[j + 1]], values[heap[j]]):
                j += 1
            if not less(values[heap[j]], values[heap[i]]):
                break
            heap[i], heap[j] = heap[j], heap[i]
            i = j

    for idx, v in enumerate(values):
        if len(heap) < k:
            heap.append(idx)  # heap.Push
            up(len(heap) - 1)
            continue
        root = values[heap[0]]
        # Note: a NaN root is replaced even by another NaN.
        if not ((root < v if op == "topk" else root > v) or math.isnan(root)):
            continue
        if k == 1:
            heap[0] = idx  # replaced in place
            continue
        # heap.Pop (the root swaps with the last element, which sinks), then heap.Push.
        heap[0] = heap[-1]
        heap.pop()
        down(0)
        heap.append(idx)
        up(len(heap) - 1)
    return heap


def go_sorted_best_first(op: str, values: list[float], heap: list[int]) -> list[int]:
    """``sort.Sort(sort.Reverse(heap))`` as Prometheus orders an instant topk/bottomk group."""
    less = _less(op)
    out = list(heap)
    if len(out) <= _GO_INSERTION_SORT_MAX:
        for i in range(1, len(out)):
            j = i
            while j > 0 and less(values[out[j - 1]], values[out[j]]):
                out[j - 1], out[j] = out[j], out[j - 1]
                j -= 1
        return out
    # Larger heaps go through pdqsort, whose order of equal elements we do not
    # replay; a stable sort is right whenever the values differ.
    def key(i: int) -> tuple[int, float]:
        v = values[i]
        return (1, 0.0) if math.isnan(v) else (0, -v if op == "topk" else v)

    return sorted(out, key=key)


def k_best_columns(op: str, vals: FloatArray, present: BoolArray, k: npt.NDArray[np.int64]) -> BoolArray:
    """Which rows (one group, rows in input order) topk/bottomk keep at each time."""
    n_rows, n_times = vals.shape
    with np.errstate(invalid="ignore"):
        key = np.where(np.isnan(vals), 0.0, -vals if op == "topk" else vals)
    tier = np.where(present, np.where(np.isnan(vals), 1, 0), 2)
    by_value = np.argsort(key, axis=0, kind="stable")
    order = np.take_along_axis(by_value, np.argsort(np.take_along_axis(tier, by_value, axis=0), axis=0, kind="stable"), axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_rows)[:, None].repeat(n_times, axis=1), axis=0)
    keep = np.asarray(present & (rank < k[None, :]))
    # The heap always ends holding the k best values, so only which of several
    # equal values survives is positional: replay it where the k-th and the
    # (k+1)-th best values are equal (-0 == 0 counts), or where NaNs compete.
    ranked = np.sort(np.where(present, key, np.nan), axis=0)  # best first, absent rows last
    n_present = present.sum(axis=0)
    inside = (k >= 1) & (k < n_present)
    kth = np.clip(k - 1, 0, max(n_rows - 2, 0))[None, :]
    if n_rows > 1:
        boundary_tie = np.take_along_axis(ranked, kth, axis=0)[0] == np.take_along_axis(ranked, kth + 1, axis=0)[0]
    else:
        boundary_tie = np.zeros(n_times, dtype=bool)
    ambiguous = (inside & boundary_tie) | (np.isnan(vals) & present).any(axis=0)
    for col in np.flatnonzero(ambiguous & (k > 0)).tolist():
        rows = np.flatnonzero(present[:, col])
        column = vals[rows, col].tolist()
        keep[:, col] = False
        keep[rows[go_heap_k(op, column, int(k[col]))], col] = True
    return keep
