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
    series = result.series
    if sum(len(s.timestamps) for s in series) > _BIG_MATRIX:
        return _big_matrix_json(parts, series)
    # Values are classified and printed for the whole result at once: numpy calls on
    # one row at a time would cost more than the printing.
    rows = [s.values for s in series if len(s.timestamps)]
    texts = format_value_row(np.concatenate(rows) if rows else ())
    shared: object = None  # the engine hands every fully present series one step list
    template = b""
    offset = 0
    for i, s in enumerate(series):
        if i:
            parts.append(b",")
        parts += (b'{"metric":', labels_json(s.labels), b',"values":[')
        n = len(s.timestamps)
        if n:
            if s.timestamps is not shared:
                shared, template = s.timestamps, _points_template(s.timestamps)
            parts.append(template % tuple(texts[offset : offset + n]))
            offset += n
        parts.append(b"]}")
    parts.append(b"]}")
    return b"".join(parts)


#: Points from which a matrix is printed a slice at a time (a subquery such as
#: vector(1)[1y:1s] has 31.5M): the per-point texts of one slice at most are alive.
_BIG_MATRIX = 1_000_000


def _big_matrix_json(parts: list[bytes], series: Sequence[ResultSeries]) -> bytes:
    for i, s in enumerate(series):
        if i:
            parts.append(b",")
        parts += (b'{"metric":', labels_json(s.labels), b',"values":[')
        times = np.asarray(s.timestamps, dtype=np.int64)
        values = np.asarray(s.values, dtype=np.float64)
        for lo in range(0, len(times), _BIG_MATRIX):
            if lo:
                parts.append(b",")
            hi = lo + _BIG_MATRIX
            texts = format_value_row(values[lo:hi])
            parts.append(_points_template(times[lo:hi]) % tuple(texts))
        parts.append(b"]}")
    parts.append(b"]}")
    return b"".join(parts)
