"""Postings index: label name -> label value -> set of series ids.

Selecting series for ``{job="api", code=~"5.."}`` intersects the posting sets
of the matching values instead of testing every series, and matchers that
also match the empty string (``{a=""}``, ``{a!="x"}``) include the series that
lack the label, as Prometheus does.

``version`` counts the series added and removed, and a short log of those
changes lets a cached selection (``selection.py``) catch up instead of
starting over.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import chain, count

import numpy as np

from metricslib.collector.model import Labels, Matcher

__all__ = ["PostingsIndex"]

#: how many changes the log keeps; an older cached selection is recomputed
_LOG = 4096


class PostingsIndex:
    """Not thread safe by itself: the store guards it with its head lock."""

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, set[int]]] = {}
        self._all: set[int] = set()
        #: bumped by every add and remove
        self.version = 0
        #: (series id, added?) of the last _LOG changes; entry k is change version - len + k + 1
        self._log: deque[tuple[int, bool]] = deque(maxlen=_LOG)

    def __len__(self) -> int:
        return len(self._all)

    def changes_since(self, version: int) -> list[tuple[int, bool]] | None:
        """The (series id, added?) changes after ``version``, oldest first; None when
        the log no longer reaches back that far."""
        behind = self.version - version
        if behind < 0 or behind > len(self._log):
            return None
        return list(self._log)[len(self._log) - behind :]

    def add(self, sid: int, labels: Labels) -> None:
        self._all.add(sid)
        self.version += 1
        self._log.append((sid, True))
        for name, value in labels:
            self._postings.setdefault(name, {}).setdefault(value, set()).add(sid)

    def add_many(self, sids: Sequence[int], labels: Sequence[Labels]) -> None:
        """Add many series at once (opening a store): the posting sets are built
        per distinct (name, value) pair from one sort of every series' pairs,
        not one label at a time. The change log is cleared, so a selection
        cached before this is recomputed rather than caught up."""
        if not sids:
            return
        self._all.update(sids)
        self.version += len(sids)
        self._log.clear()
        ids: dict[tuple[str, str], int] = {}
        pair_ids = np.fromiter(map(ids.setdefault, chain.from_iterable(labels), count()), dtype=np.int64)
        owners = np.repeat(np.asarray(sids, dtype=np.int64), np.fromiter(map(len, labels), dtype=np.int64))
        order = np.argsort(pair_ids, kind="stable")
        pair_ids = pair_ids[order]
        members = owners[order].tolist()
        starts = np.flatnonzero(np.concatenate(([True], pair_ids[1:] != pair_ids[:-1])))
        pairs = {v: k for k, v in ids.items()}
        postings = self._postings
        for pid, a, b in zip(pair_ids[starts].tolist(), starts.tolist(), [*starts[1:].tolist(), len(members)],
                             strict=True):
            name, value = pairs[pid]
            postings.setdefault(name, {}).setdefault(value, set()).update(members[a:b])

    def remove(self, sid: int, labels: Labels) -> None:
        self._all.discard(sid)
        self.version += 1
        self._log.append((sid, False))
        for name, value in labels:
            values = self._postings.get(name)
            if values is None:
                continue
            ids = values.get(value)
            if ids is not None:
                ids.discard(sid)
                if not ids:
                    del values[value]
            if not values:
                del self._postings[name]

    def label_names(self) -> list[str]:
        return sorted(self._postings)

    def values_of(self, name: str) -> dict[str, set[int]]:
        return self._postings.get(name, {})

    def _matching(self, m: Matcher) -> set[int]:
        values = self._postings.get(m.name, {})
        if m.op == "=" and m.value:
            return set(values.get(m.value, ()))
        if m.matches_empty():
            # Series without the label count as having it empty, so the answer
            # is everything except the series whose value fails the matcher.
            if m.op == "!=":
                return self._all - values.get(m.value, set())
            excluded: set[int] = set()
            for value, ids in values.items():
                if not m.matches(value):
                    excluded |= ids
            return self._all - excluded
        hits: set[int] = set()
        for value, ids in values.items():
            if m.matches(value):
                hits |= ids
        return hits

    def select(self, matchers: Sequence[Matcher]) -> set[int]:
        """Ids of the series matching every matcher (all series when none)."""
        if not matchers:
            return set(self._all)
        # Exact equalities first, smallest posting set first, read in place (not
        # copied): {__name__="x", path="/p"} walks the few series of the path,
        # not the many of the name. Then the rest.
        exact: list[set[int]] = []
        rest: list[Matcher] = []
        for m in matchers:
            if m.op == "=" and m.value:
                ids = self._postings.get(m.name, {}).get(m.value)
                if not ids:
                    return set()
                exact.append(ids)
            else:
                rest.append(m)
        result: set[int] | None = None
        if exact:
            exact.sort(key=len)
            result = exact[0].intersection(*exact[1:])
        for m in rest:
            if not result and result is not None:
                return set()
            ids = self._matching(m)
            result = ids if result is None else result & ids
        return result if result is not None else set()
