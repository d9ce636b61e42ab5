"""Which series a matcher set selects, remembered between queries.

Rule groups and dashboards ask for the same selectors at every evaluation, and
the series they match rarely change. Each entry keeps the matching series
already sorted by labels (what a select returns), so a repeated select skips
the postings intersection, the id-to-series lookups and the sort.

Entries are checked against the postings index's ``version`` (bumped by every
series added or removed). A stale entry is brought up to date from the
index's change log when the log still covers it and few series changed (the
new series are tested against the matchers, the removed ones dropped);
otherwise it is recomputed. Everything here runs under the head's lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from metricslib.collector.model import Labels, Matcher
from metricslib.collector.storage.index import PostingsIndex
from metricslib.collector.storage.memseries import MemSeries

__all__ = ["Selection", "SelectionCache"]


def labels_match(matchers: Sequence[Matcher], labels: Labels) -> bool:
    """Whether a series with these labels is selected (a missing label reads as "")."""
    found = dict(labels)
    return all(m.matches(found.get(m.name, "")) for m in matchers)


class Selection:
    """The series one matcher set selects, sorted by labels, as of index ``version``."""

    __slots__ = ("keys", "labels", "series", "version")

    def __init__(self, series: list[MemSeries], version: int) -> None:
        series.sort(key=MemSeries.sort_key)
        self.series = series
        self.keys = [s.sort_key() for s in series]
        self.labels = [s.labels for s in series]
        self.version = version

    def __len__(self) -> int:
        return len(self.series)

    def add(self, s: MemSeries) -> None:
        key = s.sort_key()
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.series[i] is s:
            return
        self.keys.insert(i, key)
        self.series.insert(i, s)
        self.labels.insert(i, s.labels)

    def remove(self, gone: set[int]) -> None:
        keep = [i for i, s in enumerate(self.series) if s.sid not in gone]
        if len(keep) == len(self.series):
            return
        self.series = [self.series[i] for i in keep]
        self.keys = [self.keys[i] for i in keep]
        self.labels = [self.labels[i] for i in keep]


class SelectionCache:
    """An LRU of :class:`Selection` by matcher set, bounded in entries and in series held."""

    def __init__(self, max_entries: int = 256, max_series: int = 4_000_000) -> None:
        self.max_entries = max_entries
        self.max_series = max_series
        self._items: OrderedDict[tuple[Matcher, ...], Selection] = OrderedDict()
        self._held = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._held = 0

    def get(
        self, index: PostingsIndex, by_id: Mapping[int, MemSeries], matchers: Sequence[Matcher]
    ) -> Selection:
        """The series ``matchers`` select now (call under the head's lock; do not mutate)."""
        key = tuple(matchers)
        sel = self._items.get(key)
        if sel is not None:
            if sel.version != index.version and not self._catch_up(sel, index, by_id, key):
                self._drop(key, sel)
                sel = None
            else:
                self._items.move_to_end(key)
                self.hits += 1
                return sel
        self.misses += 1
        sel = Selection([by_id[sid] for sid in index.select(matchers)], index.version)
        if len(sel) <= self.max_series:
            self._items[key] = sel
            self._held += len(sel)
            while len(self._items) > self.max_entries or self._held > self.max_series:
                old_key, old = next(iter(self._items.items()))
                self._drop(old_key, old)
        return sel

    def _drop(self, key: tuple[Matcher, ...], sel: Selection) -> None:
        del self._items[key]
        self._held -= len(sel)

    def _catch_up(
        self, sel: Selection, index: PostingsIndex, by_id: Mapping[int, MemSeries], matchers: Sequence[Matcher]
    ) -> bool:
        """Apply the index changes since ``sel.version``; False when a recompute is cheaper."""
        changes = index.changes_since(sel.version)
        if changes is None or len(changes) > 64 + len(sel) // 4:
            return False
        before = len(sel)
        gone: set[int] = set()
        # Ids are never reused, so an id is added at most once and removed after that.
        for sid, added in changes:
            if added:
                s = by_id.get(sid)
                if s is not None and labels_match(matchers, s.labels):
                    sel.add(s)
            else:
                gone.add(sid)
        if gone:
            sel.remove(gone)
        sel.version = index.version
        self._held += len(sel) - before
        return True
