"""How Prometheus writes sample values and timestamps as text (Go's ``FormatFloat``).

Formatting sample values is most of the cost of answering a range query:
Python's ``repr`` takes ~0.5 µs per float, longer than evaluating most
queries. orjson prints a whole row of floats with the same shortest
round-tripping digits (checked by a property test), so a row is one
``orjson.dumps`` plus a split; only values it would print differently from
Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` (whole numbers, NaN, ±Inf,
exponent forms) are fixed up one by one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import orjson

__all__ = ["format_float", "format_time", "format_value_row", "go_float_e"]

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
FloatArray = npt.NDArray[np.float64]


def format_float(value: float) -> str:
    """Format like Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` (what Prometheus's API emits).

    The shortest digits that round-trip, never in exponent form: 1e21 prints
    as 1 followed by 21 zeros, exactly as Prometheus does.
    """
    text = repr(value)
    if "e" not in text and "n" not in text:  # the common case: plain digits, no inf/nan
        return text[:-2] if text.endswith(".0") else text
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    # repr() gives the shortest round-tripping digits; Decimal lays them out
    # without an exponent. normalize() drops the ".0" that repr adds.
    return format(Decimal(text).normalize(), "f")


def go_float_e(value: float, verb: str = "e") -> str:
    """Go's ``strconv.FormatFloat(v, 'e', -1, 64)``: the shortest digits that read back
    exactly, in exponent form (``1e+00``); ``verb="E"`` for Go's ``%E`` (``1E+00``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    for digits in range(17):
        text = f"{value:.{digits}{verb}}"
        if float(text) == value:
            return text
    return f"{value:.16{verb}}"


def format_time(t_ms: int) -> float | int:
    """API timestamps are seconds with millisecond precision; whole seconds stay integers."""
    if t_ms % 1000 == 0:
        return t_ms // 1000
    return t_ms / 1000


def format_value_row(values: Sequence[float] | FloatArray) -> list[bytes]:
    """Each value as Prometheus prints it (without quotes)."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.size == 0:
        return []
    # Fast paths for the usual rows, in a few numpy calls: all whole numbers
    # (counters), or all plain fractions (rates, averages). NaN fails both tests.
    magnitude = np.abs(arr)
    smallest, largest = magnitude.min(), magnitude.max()
    if largest < 1e15:
        integral = arr == np.trunc(arr)
        if integral.all():
            if smallest > 0 or not np.signbit(arr).any():  # Go prints -0 as "-0"
                return orjson.dumps(arr.astype(np.int64), option=_NUMPY)[1:-1].split(b",")
        elif smallest >= 1e-4 and not integral.any():
            return orjson.dumps(arr, option=_NUMPY)[1:-1].split(b",")
    finite = np.isfinite(arr)
    with np.errstate(invalid="ignore"):
        integral = finite & (arr == np.trunc(arr))
    magnitude = np.abs(np.where(finite, arr, 0.0))
    whole = integral & (magnitude < 1e15) & ~((arr == 0) & np.signbit(arr))  # Go prints -0 as "-0"
    if whole.all():
        return orjson.dumps(arr.astype(np.int64), option=_NUMPY)[1:-1].split(b",")
    out = orjson.dumps(arr, option=_NUMPY)[1:-1].split(b",")
    # orjson agrees with Go for finite non-whole values in this range; everything
    # else ("5.0", null for NaN, "1e+16") is printed the slow, exact way.
    plain = finite & ~integral & (magnitude >= 1e-4) & (magnitude < 1e16)
    if plain.all():
        return out
    if whole.any():
        ints = orjson.dumps(np.where(whole, arr, 0.0).astype(np.int64), option=_NUMPY)[1:-1].split(b",")
        for i in np.flatnonzero(whole).tolist():
            out[i] = ints[i]
    for i in np.flatnonzero(~plain & ~whole).tolist():
        out[i] = format_float(float(arr[i])).encode()
    return out
