"""The collector's shared vocabulary: label sets, matchers and series.

Every part of the collector (scrape, storage, promql, api) speaks in these
terms, and this module imports nothing from any of them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from metricslib.collector.model.regex import go_regex_to_python

__all__ = [
    "METRIC_NAME",
    "STALE_NAN",
    "Labels",
    "MatchOp",
    "Matcher",
    "Series",
    "SeriesBatch",
    "is_stale_nan",
    "labels_get",
    "labels_to_dict",
    "make_labels",
    "metric_name",
]

#: A label set: (name, value) pairs sorted by name, no empty values, including
#: ``__name__`` for metrics. Tuples are hashable, so a label set is a dict key.
Labels = tuple[tuple[str, str], ...]

METRIC_NAME = "__name__"

# Prometheus marks a series as gone with this exact NaN bit pattern; a plain
# NaN is an ordinary value, so the two must never be confused.
_STALE_BITS = 0x7FF0000000000002
_STALE_BYTES = struct.pack("<Q", _STALE_BITS)
STALE_NAN: float = struct.unpack("<d", _STALE_BYTES)[0]
STALE_NAN_BITS = _STALE_BITS


def is_stale_nan(value: float) -> bool:
    """True only for Prometheus's staleness marker, not for other NaNs."""
    return value != value and struct.pack("<d", value) == _STALE_BYTES


def make_labels(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Labels:
    """Build a canonical label set; empty values mean "absent" and are dropped."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((k, v) for k, v in items if v != ""))


def labels_to_dict(labels: Labels) -> dict[str, str]:
    return dict(labels)


def labels_get(labels: Labels, name: str) -> str:
    """The value of ``name``, or "" when absent (Prometheus's convention)."""
    for k, v in labels:
        if k == name:
            return v
    return ""


def metric_name(labels: Labels) -> str:
    return labels_get(labels, METRIC_NAME)


MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A label matcher as in ``{job=~"api|web"}``. Regexes are read with Go's RE2
    syntax, as Prometheus reads them, and fully anchored; ``value`` keeps the
    text as written."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"unknown matcher operator {self.op!r} for label {self.name!r}")
        if self.op in ("=~", "!~"):
            try:
                # DOTALL: Go's RE2 lets "." match newlines in Prometheus's anchored form.
                pattern = re.compile(f"(?s:{go_regex_to_python(self.value)})")
            except re.error as exc:
                raise ValueError(
                    f"invalid regular expression {self.value!r} for label {self.name!r}: {exc}"
                ) from exc
            object.__setattr__(self, "_regex", pattern)

    def matches(self, value: str) -> bool:
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(value) is not None
        return hit if op == "=~" else not hit

    def matches_empty(self) -> bool:
        """Whether a series without this label would match (value "")."""
        return self.matches("")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


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
