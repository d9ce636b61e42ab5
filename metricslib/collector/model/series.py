"""Samples read back from storage: one series, or many in one pair of flat arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metricslib.collector.model.labels import Labels

__all__ = ["Series", "SeriesBatch"]


@dataclass(slots=True)
class Series:
    """One series' samples in a time range, oldest first (timestamps in ms)."""

    labels: Labels
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


@dataclass(slots=True)
class SeriesBatch:
    """Many series in one pair of flat arrays, so readers work on all of them at once.

    Series ``k`` is ``labels[k]`` with the samples ``offsets[k]:offsets[k + 1]`` of
    ``timestamps`` and ``values``, oldest first; every series has at least one.
    """

    labels: list[Labels]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    offsets: npt.NDArray[np.int64]  # len(labels) + 1 entries, starting at 0

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        offsets = self.offsets
        return offsets[1:] - offsets[:-1]

    def sorted_keys(self, low: int, high: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
        """Timestamps made one sorted array, for one ``searchsorted`` over every series.

        Series ``k`` is shifted by ``k * span - low``, where ``[low, high]`` holds
        every timestamp and every time that will be searched for; returns the
        shifted timestamps and the shifts (a column, to add to the searched times).
        None when the shifts would not fit in int64 (absurdly wide time spans).
        """
        span = high - low + 1
        if span * len(self.labels) >= 2**62:
            return None
        shifts = np.arange(len(self.labels), dtype=np.int64) * span - low
        return self.timestamps + shifts.repeat(self.sizes), shifts[:, None]

    def series(self) -> list[Series]:
        """One :class:`Series` per entry, viewing the flat arrays."""
        bounds = self.offsets.tolist()
        ts, vs = self.timestamps, self.values
        return [
            Series(lbl, ts[lo:hi], vs[lo:hi])
            for lbl, lo, hi in zip(self.labels, bounds, bounds[1:], strict=False)
        ]

    def filter(self, keep: npt.NDArray[np.bool_]) -> SeriesBatch:
        """Only the samples where ``keep`` is true; series left without any are dropped."""
        idx = np.flatnonzero(keep)
        offsets = np.searchsorted(idx, self.offsets).astype(np.int64)  # far faster than a cumsum
        return SeriesBatch(self.labels, self.timestamps[idx], self.values[idx], offsets).without_empty()

    def rows(self, lo: int, hi: int) -> SeriesBatch:
        """Series ``lo:hi`` (views of the flat arrays)."""
        hi = min(hi, len(self.labels))
        a, b = int(self.offsets[lo]), int(self.offsets[hi])
        return SeriesBatch(self.labels[lo:hi], self.timestamps[a:b], self.values[a:b], self.offsets[lo : hi + 1] - a)

    def without_empty(self) -> SeriesBatch:
        sizes = self.sizes
        if sizes.all():
            return self
        nonempty = sizes.nonzero()[0]
        offsets = np.concatenate(([0], self.offsets[1:][nonempty]))
        return SeriesBatch([self.labels[i] for i in nonempty.tolist()], self.timestamps, self.values, offsets)

    @classmethod
    def of(cls, series: Sequence[Series]) -> SeriesBatch:
        """The non-empty ones of ``series``, in the given order."""
        kept = [s for s in series if len(s)]
        if not kept:
            return cls.empty()
        sizes = [len(s) for s in kept]
        offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return cls(
            [s.labels for s in kept],
            np.concatenate([s.timestamps for s in kept]).astype(np.int64, copy=False),
            np.concatenate([s.values for s in kept]).astype(np.float64, copy=False),
            offsets,
        )

    @classmethod
    def empty(cls) -> SeriesBatch:
        return cls([], np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), np.zeros(1, dtype=np.int64))
