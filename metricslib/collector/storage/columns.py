"""A column of series refs that repeats, and the head's block of its pending rows.

A scrape target sends the same series every scrape. The scrape loop keeps
their refs in one :class:`ColumnRefs` and hands it to ``append_column`` each
time; the head resolves them to their series once and keeps them, with the
rows committed since the last flush, in a :class:`ColumnBlock` stored in the
``ColumnRefs``. A column commit then appends one timestamp and one row of
values (8 bytes a sample) to that block and touches no series at all; the
series' own buffers receive the rows in bulk when the head materializes the
block (each flush, or when another path needs one of its series).

The cache is the caller's object: it goes away with the loop's column, and
the head's ``generation`` (bumped whenever a series is deleted) tells a
stale cache from a valid one. A block with rows is also held by the head
(``Head.blocks``) until it is materialized, so nothing committed depends on
the caller keeping its ``ColumnRefs``.
"""

from __future__ import annotations

from array import array

from metricslib.collector.storage.memseries import NO_TIME, MemSeries

__all__ = ["ColumnBlock", "ColumnRefs"]


class ColumnBlock:
    """Rows committed for a fixed list of series, not yet in the series' buffers.

    ``times`` holds one timestamp per row and ``values`` the rows one after the
    other (row-major, ``len(series)`` values each). A series whose ``block`` is
    this block and whose ``col`` is its position here *belongs* to it: its head
    samples are its own buffers followed by its column of the rows. Rows exist
    only while the block is ``intact`` (every one of its series belongs to it),
    so a series belonging to a block with rows always has its column there.
    ``newest`` is the time of the newest row ever appended: every series that
    belongs to the block is no newer than it, which is how a column commit
    knows every series is older than its time without visiting any.
    """

    __slots__ = ("epoch", "flushed", "head_seq", "intact", "newest", "persisted", "series", "sids", "times",
                 "values")

    def __init__(self, series: list[MemSeries]) -> None:
        self.series = series
        #: the series' ids, for the flush's checkpoint row
        self.sids = array("q", [s.sid for s in series])
        self.times = array("q")
        self.values = array("d")
        self.newest = NO_TIME
        self.intact = False
        #: rows already in a checkpoint (``wal``) row, and the first such row's seq
        self.flushed = 0
        self.head_seq = 0
        #: every series is in the database (checked by flushes until it is)
        self.persisted = False
        #: bumped whenever the rows move into the series (a failed flush tells by it)
        self.epoch = 0


class ColumnRefs(list[int]):
    """Series refs in a fixed order; never mutate it once handed to an appender."""

    __slots__ = ("block", "generation", "series")

    def __init__(self, refs: list[int]) -> None:
        super().__init__(refs)
        #: head generation the cache below was resolved at (-1: not resolved)
        self.generation = -1
        self.series: list[MemSeries] = []
        #: the head's block for these refs (None: not resolved yet)
        self.block: ColumnBlock | None = None
