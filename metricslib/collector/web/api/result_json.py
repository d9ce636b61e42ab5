"""The JSON text of a query result, as Prometheus's API writes it.

Written directly rather than through ``json.dumps``: building one Python list
per point would cost more than evaluating most range queries. Values are
printed a whole row at a time (see :mod:`metricslib.collector.model.value_text`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import orjson

from metricslib.collector.model import Labels
from metricslib.collector.model.value_text import format_float, format_time, format_value_row
from metricslib.collector.promql.values import QueryResult, ResultSeries

__all__ = ["labels_json", "result_json"]


def labels_json(labels: Labels) -> bytes:
    return orjson.dumps(dict(labels))


def _points_template(times: Sequence[int] | npt.NDArray[np.int64]) -> bytes:
    """``[t,"%s"],...`` for the given times: a ``%`` template over the value texts."""
    # API timestamps are seconds with millisecond precision, printed like values
    # (whole seconds as integers).
    texts = format_value_row(np.asarray(times, dtype=np.int64) / 1000.0)
    return b'"],'.join([b"[" + t + b',"%s' for t in texts]) + b'"]'


def result_json(result: QueryResult) -> bytes:
    """``result.to_api()`` as compact JSON."""
    if result.result_type in ("scalar", "string"):
        return json.dumps(result.to_api(), separators=(",", ":"), allow_nan=False).encode()
    if result.result_type == "vector":
        parts: list[bytes] = [b'{"resultType":"vector","result":[']
        for i, s in enumerate(result.series):
            if i:
                parts.append(b",")
            t = str(format_time(int(s.timestamps[0]))).encode()
            value = format_float(float(s.values[0])).encode()
            parts += (b'{"metric":', labels_json(s.labels), b',"value":[', t, b',"', value, b'"]}')
        parts.append(b"]}")
        return b"".join(parts)
    parts = [b'{"resultType":"matrix","result":[']
    shared: list[object] = [None, b""]  # the engine hands every fully present series one step list
    group: list[ResultSeries] = []
    points = 0
    for s in result.series:
        n = len(s.timestamps)
        if group and points + n > _SLICE_POINTS:
            _series_json(parts, group, shared)
            group, points = [], 0
        group.append(s)
        points += n
    _series_json(parts, group, shared)
    parts.append(b"]}")
    return b"".join(parts)  # joins of big buffers let other threads run


#: Points printed at once. Values are classified and printed for many series
#: at once (numpy calls on one row at a time would cost more than the
#: printing), but in slices: one C call over millions of values would hold the
#: GIL (and /-/healthy) for a second, and their texts would all be alive.
_SLICE_POINTS = 200_000


def _series_json(parts: list[bytes], series: Sequence[ResultSeries], shared: list[object]) -> None:
    if len(series) == 1 and len(series[0].timestamps) > _SLICE_POINTS:  # a long series is a group of its own
        _long_series_json(parts, series[0], len(parts) > 1)
        return
    rows = [s.values for s in series if len(s.timestamps)]
    texts = format_value_row(np.concatenate(rows) if rows else ())
    offset = 0
    for s in series:
        if len(parts) > 1:
            parts.append(b",")
        parts += (b'{"metric":', labels_json(s.labels), b',"values":[')
        n = len(s.timestamps)
        if n:
            if s.timestamps is not shared[0]:
                shared[0], shared[1] = s.timestamps, _points_template(s.timestamps)
            template = shared[1]
            assert isinstance(template, bytes)
            parts.append(template % tuple(texts[offset : offset + n]))
            offset += n
        parts.append(b"]}")


def _long_series_json(parts: list[bytes], s: ResultSeries, comma: bool) -> None:
    if comma:
        parts.append(b",")
    parts += (b'{"metric":', labels_json(s.labels), b',"values":[')
    times = np.asarray(s.timestamps, dtype=np.int64)
    values = np.asarray(s.values, dtype=np.float64)
    for lo in range(0, len(times), _SLICE_POINTS):
        if lo:
            parts.append(b",")
        hi = lo + _SLICE_POINTS
        parts.append(_points_template(times[lo:hi]) % tuple(format_value_row(values[lo:hi])))
    parts.append(b"]}")
