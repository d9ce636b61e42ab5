"""Values the PromQL engine computes with, and the query result it hands to the API.

During evaluation every expression is computed for *all* evaluation times of a
query at once (a range query's steps, or the single time of an instant query):

* a scalar is a float64 array with one value per time;
* an instant vector is a :class:`Block`: one row per series, one column per time,
  with a ``present`` mask because a series may exist at some steps only;
* a range vector (the argument of ``rate`` and friends) is a :class:`RangeArg`:
  raw samples per series plus the window end of every step.

:class:`QueryResult` is the final, user-facing shape with ``to_api()``; the
HTTP API writes its JSON text directly (``web/api/result_json.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import METRIC_NAME, Labels, Series, SeriesBatch
from metricslib.collector.model.value_text import format_float, format_time, format_value_row
from metricslib.errors import QueryExecutionError

__all__ = [
    "Annotations",
    "Block",
    "FloatArray",
    "QueryResult",
    "RangeArg",
    "RangeSeries",
    "ResultSeries",
    "ResultType",
    "drop_metric_name",
    "format_g",
    "format_labels",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ResultType = Literal["vector", "matrix", "scalar", "string"]


def drop_metric_name(labels: Labels) -> Labels:
    return tuple([pair for pair in labels if pair[0] != METRIC_NAME])


def format_labels(labels: Labels) -> str:
    """``{a="1", b="2"}`` as Prometheus prints label sets in error messages."""
    inner = ", ".join(f'{k}="{v}"' for k, v in labels)
    return "{" + inner + "}"


@dataclass(slots=True)
class Block:
    """An instant vector evaluated at every time of the query.

    ``drop_name`` implements Prometheus 3's delayed name removal: functions and
    operators that remove ``__name__`` only flag the row, and the name is dropped
    when the query finishes, so ``label_replace`` can still read it.
    """

    labels: list[Labels]
    values: FloatArray  # shape (rows, times)
    present: BoolArray  # shape (rows, times)
    drop_name: list[bool]

    @classmethod
    def empty(cls, n_times: int) -> Block:
        return cls([], np.zeros((0, n_times)), np.zeros((0, n_times), dtype=bool), [])

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_times(self) -> int:
        return int(self.values.shape[1])

    @classmethod
    def concat(cls, blocks: list[Block], n_times: int) -> Block:
        """The rows of ``blocks`` one after another."""
        if len(blocks) == 1:
            return blocks[0]
        if not blocks:
            return cls.empty(n_times)
        return cls(
            [lbl for b in blocks for lbl in b.labels],
            np.concatenate([b.values for b in blocks]),
            np.concatenate([b.present for b in blocks]),
            [d for b in blocks for d in b.drop_name],
        )

    def take(self, rows: list[int] | npt.NDArray[np.intp]) -> Block:
        idx = np.asarray(rows, dtype=np.intp)
        return Block(
            [self.labels[i] for i in idx],
            self.values[idx],
            self.present[idx],
            [self.drop_name[i] for i in idx],
        )

    def compact(self) -> Block:
        """Drop rows that are absent at every time."""
        keep = self.present.any(axis=1).nonzero()[0]
        if len(keep) == len(self.labels):
            return self
        return self.take(keep)

    def consolidate(
        self, message: str = "vector cannot contain metrics with the same labelset"
    ) -> Block:
        """Merge rows with equal label sets; the same labels present twice at one time is an error."""
        index: dict[Labels, int] = {}
        dup = False
        for i, lbl in enumerate(self.labels):
            if lbl in index:
                dup = True
                break
            index[lbl] = i
        if not dup:
            return self
        groups: dict[Labels, list[int]] = {}
        for i, lbl in enumerate(self.labels):
            groups.setdefault(lbl, []).append(i)
        labels: list[Labels] = []
        values = np.zeros((len(groups), self.n_times))
        present = np.zeros((len(groups), self.n_times), dtype=bool)
        drop: list[bool] = []
        for g, (lbl, rows) in enumerate(groups.items()):
            labels.append(lbl)
            if len(rows) > 1 and (self.present[rows].sum(axis=0) > 1).any():
                raise QueryExecutionError(message)
            for r in rows:
                mask = self.present[r]
                values[g, mask] = self.values[r, mask]
                present[g] |= mask
            drop.append(any(self.drop_name[r] for r in rows))
        return Block(labels, values, present, drop)


@dataclass(slots=True)
class RangeSeries:
    labels: Labels
    timestamps: IntArray
    values: FloatArray
    drop_name: bool = False


class RangeArg:
    """A range vector at every time: samples per series, windows ``(end - range, end]``.

    It holds its series either as a list of :class:`RangeSeries` or as one flat
    :class:`SeriesBatch` (what a selector loads); each form is built from the
    other on first use, so vectorised functions never pay for per-series objects.
    """

    __slots__ = ("_batch", "_drop_name", "_series", "ends", "open_bounds", "range_ms")

    def __init__(self, series: list[RangeSeries], ends: IntArray, range_ms: int) -> None:
        self._series: list[RangeSeries] | None = series
        self._batch: SeriesBatch | None = None
        self._drop_name: list[bool] | None = None
        self.ends = ends  # window end per evaluation time (offset and @ applied), ascending
        self.range_ms = range_ms
        #: flat indexes ``[lo, hi)`` of every window in :attr:`batch` (series x times),
        #: kept by the function that found them, for the engine's sample count
        self.open_bounds: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None = None

    @classmethod
    def of_batch(
        cls, batch: SeriesBatch, ends: IntArray, range_ms: int, drop_name: list[bool] | None = None
    ) -> RangeArg:
        rng = cls([], ends, range_ms)
        rng._series, rng._batch = None, batch
        rng._drop_name = [False] * len(batch) if drop_name is None else drop_name
        return rng

    @property
    def series(self) -> list[RangeSeries]:
        if self._series is None:
            assert self._batch is not None and self._drop_name is not None
            self._series = [
                RangeSeries(s.labels, s.timestamps, s.values, d)
                for s, d in zip(self._batch.series(), self._drop_name, strict=True)
            ]
        return self._series

    def _flat(self) -> tuple[SeriesBatch, list[bool]]:
        if self._batch is None or self._drop_name is None:
            kept = [s for s in self.series if len(s.timestamps)]
            self._batch = SeriesBatch.of([Series(s.labels, s.timestamps, s.values) for s in kept])
            self._drop_name = [s.drop_name for s in kept]
        return self._batch, self._drop_name

    @property
    def batch(self) -> SeriesBatch:
        """The non-empty series as one flat batch."""
        return self._flat()[0]

    @property
    def drop_name(self) -> list[bool]:
        """Per series of :attr:`batch`, whether its name is dropped at the end."""
        return self._flat()[1]

    def rows(self, lo: int, hi: int) -> RangeArg:
        """The non-empty series ``lo:hi`` of :attr:`batch`, with the same windows."""
        batch, drop_name = self._flat()
        part = RangeArg.of_batch(batch.rows(lo, hi), self.ends, self.range_ms)
        part._drop_name = drop_name[lo:hi]
        return part

    def bounds(self, s: RangeSeries) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Index ``[lo, hi)`` of each window in ``s``; windows are open on the left."""
        lo = np.searchsorted(s.timestamps, self.ends - self.range_ms, side="right")
        hi = np.searchsorted(s.timestamps, self.ends, side="right")
        return lo, hi


@dataclass(slots=True)
class Annotations:
    """Warnings and infos a query collects, deduplicated, in Prometheus's wording."""

    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        text = "PromQL warning: " + message
        if text not in self.warnings:
            self.warnings.append(text)

    def info(self, message: str) -> None:
        text = "PromQL info: " + message
        if text not in self.infos:
            self.infos.append(text)


def format_g(value: float) -> str:
    """Go's ``%g`` for the numbers annotations quote."""
    if math.isnan(value) or math.isinf(value):
        return format_float(value)
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mantissa.removesuffix('.0')}e{sign}{digits}"
    return text.removesuffix(".0")


@dataclass(slots=True)
class ResultSeries:
    labels: Labels
    timestamps: list[int] | IntArray  # matrices keep the engine's numpy arrays
    values: list[float] | FloatArray


@dataclass(slots=True)
class QueryResult:
    """What a query returns: ``to_api()`` is Prometheus's ``data`` object."""

    result_type: ResultType
    #: vector: one point per series; matrix: many; scalar: one unlabeled series.
    series: list[ResultSeries] = field(default_factory=list)
    #: the scalar/string value with its time, for those result types.
    scalar_time_ms: int = 0
    scalar_value: float | str = 0.0
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    #: the most samples the query held at once, as Prometheus 2.42 counts them (what
    #: its ``max_samples`` limit is checked against); ``stats=all`` reports it
    samples_loaded: int = 0

    def to_api(self) -> dict[str, Any]:
        if self.result_type in ("scalar", "string"):
            value = self.scalar_value
            text = value if isinstance(value, str) else format_float(value)
            return {
                "resultType": self.result_type,
                "result": [format_time(self.scalar_time_ms), text],
            }
        result: list[dict[str, Any]] = []
        # Range results share their timestamps: format each one once.
        times: dict[int, float | int] = {}
        for s in self.series:
            metric = dict(s.labels)
            if self.result_type == "vector":
                result.append(
                    {
                        "metric": metric,
                        "value": [format_time(s.timestamps[0]), format_float(s.values[0])],
                    }
                )
            else:
                stamps = []
                for t in np.asarray(s.timestamps, dtype=np.int64).tolist():
                    ft = times.get(t)
                    if ft is None:
                        ft = times[t] = format_time(t)
                    stamps.append(ft)
                points = [[t, v.decode()] for t, v in zip(stamps, format_value_row(s.values), strict=True)]
                result.append({"metric": metric, "values": points})
        return {"resultType": self.result_type, "result": result}
