"""Aggregation groups of a block's rows, with each label set's group remembered between queries.

Rule groups and dashboards aggregate the same series by the same labels at
every evaluation. Building a series' group key (a filtered label tuple) is
Python work per series and per query; here it is done once per label set and
grouping, and remembered as a small integer, so a repeated aggregation costs a
dict lookup per row (in C, through ``map``) and a few numpy calls to sort the
rows into groups; the same rows (the same label tuples, as a cached selection
returns them) grouped the same way again cost one lookup. The memo is bounded: a grouping's memo is started afresh
when it holds too many label sets (series churn), and the least recently used
groupings are forgotten.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import METRIC_NAME, Labels

__all__ = ["Groups", "IntArray", "group_rows", "key_function"]

IntArray = npt.NDArray[np.intp]

_MAX_GROUPINGS = 512
_MAX_LABEL_SETS = 250_000  # per grouping


def key_function(grouping: tuple[str, ...], without: bool) -> Callable[[Labels], Labels]:
    """The group key of a label set; the name set is built once per grouping, not per series."""
    if without:
        dropped = frozenset((*grouping, METRIC_NAME))
        return lambda labels: tuple([p for p in labels if p[0] not in dropped])
    kept = frozenset(grouping)
    return lambda labels: tuple([p for p in labels if p[0] in kept])


class _Memo:
    """One grouping's label set -> group number, and group number -> group key."""

    __slots__ = ("key", "keys", "number", "numbers_of_keys")

    def __init__(self, key: Callable[[Labels], Labels]) -> None:
        self.key = key
        self.number: dict[Labels, int] = {}
        self.keys: list[Labels] = []
        self.numbers_of_keys: dict[Labels, int] = {}

    def fill(self, labels: list[Labels]) -> None:
        """Number the label sets not seen before (under the module lock)."""
        for lbl in labels:
            if lbl in self.number:
                continue
            k = self.key(lbl)
            n = self.numbers_of_keys.get(k)
            if n is None:
                n = self.numbers_of_keys[k] = len(self.keys)
                self.keys.append(k)
            self.number[lbl] = n


_lock = threading.Lock()
_memos: OrderedDict[tuple[tuple[str, ...], bool], _Memo] = OrderedDict()


def _memo(grouping: tuple[str, ...], without: bool, rows: int) -> _Memo:
    with _lock:
        name = (grouping, without)
        memo = _memos.get(name)
        if memo is None or len(memo.number) + rows > _MAX_LABEL_SETS:
            memo = _memos[name] = _Memo(key_function(grouping, without))
            while len(_memos) > _MAX_GROUPINGS:
                _memos.popitem(last=False)
        else:
            _memos.move_to_end(name)
        return memo


class Groups:
    """Rows sorted into groups: ``keys[g]`` is group g's key (groups in order of first row);
    ``rows[starts[g]:starts[g] + sizes[g]]`` are its rows in input order."""

    __slots__ = ("keys", "rows", "sizes", "starts")

    def __init__(self, keys: list[Labels], rows: IntArray, starts: IntArray, sizes: IntArray) -> None:
        self.keys = keys
        self.rows = rows
        self.starts = starts
        self.sizes = sizes

    def __len__(self) -> int:
        return len(self.keys)


_MAX_BLOCKS = 2048  # remembered (grouping, rows) results
_MAX_BLOCK_ROWS = 50_000  # larger blocks are grouped afresh each time
_MAX_HELD_ROWS = 1_000_000  # rows held by all remembered results together
_held = 0
_blocks: OrderedDict[tuple[tuple[str, ...], bool, tuple[int, ...]], tuple[list[Labels], Groups]] = OrderedDict()


def group_rows(labels: list[Labels], grouping: tuple[str, ...], without: bool) -> Groups:
    """The groups of ``labels`` under ``by (grouping)`` / ``without (grouping)`` (do not mutate)."""
    n = len(labels)
    if n > _MAX_BLOCK_ROWS:
        return _group_rows(labels, grouping, without)
    # The store hands back the same label tuples at every evaluation, so the same rows
    # are recognised by identity. The entry holds those tuples, so no other object can
    # take their ids while it lives.
    name = (grouping, without, tuple(map(id, labels)))
    with _lock:
        found = _blocks.get(name)
        if found is not None:
            _blocks.move_to_end(name)
            return found[1]
    groups = _group_rows(labels, grouping, without)
    global _held
    with _lock:
        if name not in _blocks:
            _blocks[name] = (list(labels), groups)
            _held += n
        while len(_blocks) > _MAX_BLOCKS or _held > _MAX_HELD_ROWS:
            _, (rows, _groups) = _blocks.popitem(last=False)
            _held -= len(rows)
    return groups


def _group_rows(labels: list[Labels], grouping: tuple[str, ...], without: bool) -> Groups:
    n = len(labels)
    memo = _memo(grouping, without, n)
    # A replaced memo is still whole: this call keeps using the one it took.
    number = memo.number
    try:
        ids = np.fromiter(map(number.__getitem__, labels), dtype=np.intp, count=n)
    except KeyError:
        with _lock:
            memo.fill(labels)
        ids = np.fromiter(map(number.__getitem__, labels), dtype=np.intp, count=n)
    if n == 0:
        empty = np.zeros(0, dtype=np.intp)
        return Groups([], empty, empty, empty)
    unique, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    # Groups in the order of their first row, as a dict filled row by row would have them.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    group_of_row = rank[inverse.reshape(-1)]
    rows = np.argsort(group_of_row, kind="stable").astype(np.intp)
    sizes = np.bincount(group_of_row, minlength=order.shape[0]).astype(np.intp)
    starts = np.zeros(sizes.shape[0], dtype=np.intp)
    np.cumsum(sizes[:-1], out=starts[1:])
    keys = memo.keys
    for array in (rows, starts, sizes):
        array.flags.writeable = False  # shared by every query over the same rows
    return Groups([keys[u] for u in unique[order].tolist()], rows, starts, sizes)
