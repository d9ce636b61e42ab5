"""A column of series refs that repeats, and the head's cache of what they resolve to.

A scrape target sends the same series every scrape. The scrape loop keeps
their refs in one :class:`ColumnRefs` and hands it to ``append_column`` each
time; the head fills the slots below on first use (the series objects), so
a later commit of the column appends its values without looking any ref up
again. The cache is the caller's object: it goes
away with the loop's column, and the head's ``generation`` (bumped whenever
a series is deleted) tells a stale cache from a valid one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metricslib.collector.storage.memseries import MemSeries

__all__ = ["ColumnRefs"]


class ColumnRefs(list[int]):
    """Series refs in a fixed order; never mutate it once handed to an appender."""

    __slots__ = ("generation", "series")

    def __init__(self, refs: list[int]) -> None:
        super().__init__(refs)
        #: head generation the cache below was resolved at (-1: not resolved)
        self.generation = -1
        self.series: list[MemSeries] = []
