"""An in-memory :class:`Querier` over numpy arrays, for PromQL tests.

Samples are added in any order; the first query after a change freezes each
series into sorted ``int64``/``float64`` arrays (a later sample at the same
timestamp replaces the earlier one, as the test loader expects).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from metricslib.collector.model import Labels, Matcher, Series, labels_get

__all__ = ["MemoryQuerier"]


class MemoryQuerier:
    """Implements ``metricslib.collector.storage.base.Querier``."""

    def __init__(self) -> None:
        self._pending: dict[Labels, dict[int, float]] = {}
        self._frozen: dict[Labels, Series] | None = None
        #: How many series ``select`` returned in total (lets tests check pruning).
        self.selects = 0

    def add(self, labels: Labels, t_ms: int, value: float) -> None:
        self._pending.setdefault(labels, {})[int(t_ms)] = float(value)
        self._frozen = None

    def add_series(self, labels: Labels, samples: Iterable[tuple[int, float]]) -> None:
        points = self._pending.setdefault(labels, {})
        for t, v in samples:
            points[int(t)] = float(v)
        self._frozen = None

    def clear(self) -> None:
        self._pending.clear()
        self._frozen = None

    def series_labels(self) -> list[Labels]:
        return sorted(self._pending)

    def _series(self) -> dict[Labels, Series]:
        if self._frozen is None:
            frozen: dict[Labels, Series] = {}
            for labels in sorted(self._pending):
                points = self._pending[labels]
                ts = np.array(sorted(points), dtype=np.int64)
                vs = np.array([points[int(t)] for t in ts], dtype=np.float64)
                frozen[labels] = Series(labels, ts, vs)
            self._frozen = frozen
        return self._frozen

    @staticmethod
    def _matches(labels: Labels, matchers: Sequence[Matcher]) -> bool:
        return all(m.matches(labels_get(labels, m.name)) for m in matchers)

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        out: list[Series] = []
        for labels, series in self._series().items():
            if not self._matches(labels, matchers):
                continue
            lo = int(np.searchsorted(series.timestamps, mint_ms, side="left"))
            hi = int(np.searchsorted(series.timestamps, maxt_ms, side="right"))
            if hi > lo:
                out.append(Series(labels, series.timestamps[lo:hi], series.values[lo:hi]))
        self.selects += len(out)
        return out

    def _in_range(self, matchers: Sequence[Matcher], mint_ms: int | None, maxt_ms: int | None) -> list[Series]:
        lo = mint_ms if mint_ms is not None else np.iinfo(np.int64).min
        hi = maxt_ms if maxt_ms is not None else np.iinfo(np.int64).max
        return [
            s
            for labels, s in self._series().items()
            if self._matches(labels, matchers)
            and len(s) > 0
            and int(s.timestamps[-1]) >= lo
            and int(s.timestamps[0]) <= hi
        ]

    def label_names(
        self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]:
        return sorted({name for s in self._in_range(matchers, mint_ms, maxt_ms) for name, _ in s.labels})

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        mint_ms: int | None = None,
        maxt_ms: int | None = None,
    ) -> list[str]:
        values = {labels_get(s.labels, name) for s in self._in_range(matchers, mint_ms, maxt_ms)}
        values.discard("")
        return sorted(values)
