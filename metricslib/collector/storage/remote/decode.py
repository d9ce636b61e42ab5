"""Reading a remote-write 1.0 body: snappy block, then a protobuf ``WriteRequest``.

The receiver's half of ``proto.py``: a small protobuf reader for the four
message types, so the collector needs no protobuf runtime. Fields it does not
know (exemplars, histograms, metadata of newer senders) are skipped by wire
type, as protobuf requires. Every malformed input raises
:class:`RemoteWriteDecodeError` with what was wrong and where.

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import cramjam
import numpy as np

__all__ = ["BULK_MIN_SAMPLES", "MAX_DECODED_BYTES", "RemoteWriteDecodeError", "decode_write_request", "snappy_decompress"]

#: a body that expands beyond this is refused before it is decompressed
MAX_DECODED_BYTES = 64 << 20

#: a series' samples are read with numpy from this many on (about where that starts to pay)
BULK_MIN_SAMPLES = 16

Series = tuple[list[tuple[str, str]], list[tuple[int, float]]]

_DOUBLE = struct.Struct("<d")


class RemoteWriteDecodeError(ValueError):
    """The body is not a snappy-compressed WriteRequest."""


def _uvarint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise RemoteWriteDecodeError(f"truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise RemoteWriteDecodeError(f"varint longer than 10 bytes at byte {pos}")


def snappy_decompress(body: bytes) -> bytes:
    """The snappy *block* format remote write uses (not the framed stream)."""
    length, _ = _uvarint(body, 0, len(body)) if body else (0, 0)
    if length > MAX_DECODED_BYTES:
        raise RemoteWriteDecodeError(f"snappy body would decode to {length} bytes, more than {MAX_DECODED_BYTES}")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise RemoteWriteDecodeError(f"snappy: {exc}") from None


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return _uvarint(buf, pos, end)[1]
    if wire == 1:
        pos += 8
    elif wire == 2:
        n, pos = _uvarint(buf, pos, end)
        pos += n
    elif wire == 5:
        pos += 4
    else:
        raise RemoteWriteDecodeError(f"unsupported protobuf wire type {wire} at byte {pos}")
    if pos > end:
        raise RemoteWriteDecodeError(f"field runs past the end of its message (byte {pos} > {end})")
    return pos


def _length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos < end and buf[pos] < 0x80:  # a one-byte length (most labels, every sample): no call
        n = buf[pos]
        pos += 1
    else:
        n, pos = _uvarint(buf, pos, end)
    if pos + n > end:
        raise RemoteWriteDecodeError(f"length {n} at byte {pos} runs past the end of its message ({end})")
    return pos + n, pos


def _text(buf: bytes, start: int, stop: int) -> str:
    try:
        return buf[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteWriteDecodeError(f"label at byte {start} is not valid UTF-8") from None


def _string(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    stop, pos = _length(buf, pos, end)
    return _text(buf, pos, stop), stop


def _double(buf: bytes, pos: int, end: int) -> tuple[float, int]:
    if pos + 8 > end:
        raise RemoteWriteDecodeError(f"truncated sample value at byte {pos}")
    value: float = _DOUBLE.unpack_from(buf, pos)[0]
    return value, pos + 8


#: A small message's known fields: key (field number << 3 | wire type) -> (slot, reader).
_Fields = dict[int, tuple[int, Callable[[bytes, int, int], tuple[Any, int]]]]
_LABEL: _Fields = {0x0A: (0, _string), 0x12: (1, _string)}  # name, value
_SAMPLE: _Fields = {0x09: (0, _double), 0x10: (1, _uvarint)}  # value, timestamp


def _fields(buf: bytes, pos: int, end: int, known: _Fields, slots: list[Any]) -> list[Any]:
    """Read a message's fields into ``slots`` (which hold the defaults): a repeated
    field's last value wins and unknown fields are skipped, as protobuf requires."""
    while pos < end:
        key = buf[pos]
        if key < 0x80:  # fields 1-15 have one-byte keys: no call
            pos += 1
        else:
            key, pos = _uvarint(buf, pos, end)
        field = known.get(key)
        if field is None:
            pos = _skip(buf, pos, end, key & 7)
        else:
            slot, read = field
            slots[slot], pos = read(buf, pos, end)
    return slots


def _label(buf: bytes, pos: int, end: int) -> tuple[str, str]:
    name, value = _fields(buf, pos, end, _LABEL, ["", ""])
    return name, value


def _sample(buf: bytes, pos: int, end: int) -> tuple[int, float]:
    value, t = 0.0, 0
    if end - pos >= 10 and buf[pos] == 0x09 and buf[pos + 9] == 0x10:
        # The layout every sender writes: value, then timestamp, nothing else.
        value = _DOUBLE.unpack_from(buf, pos + 1)[0]
        t, pos = _uvarint(buf, pos + 10, end)
    if pos < end:
        value, t = _fields(buf, pos, end, _SAMPLE, [value, t])
    if t >= 1 << 63:
        t -= 1 << 64  # int64: negative timestamps are ten-byte two's complement
    return t, value


def _sample_run(buf: bytes, pos: int, end: int) -> tuple[list[tuple[int, float]], int] | None:
    """Every sample from ``pos`` to ``end`` at once, when they share one layout:
    ``12 L 09 <8 bytes> 10 <varint of L-10 bytes>`` (what senders write for a
    series' samples of one time span); None when they do not, or when there are
    fewer than :data:`BULK_MIN_SAMPLES` (numpy's fixed cost per run would exceed
    the one-by-one reading: Prometheus sends most series with one sample)."""
    size = buf[pos + 1] + 2 if pos + 1 < end else 0
    if size < 13 or size > 0x81 or (end - pos) % size or end - pos < BULK_MIN_SAMPLES * size:
        return None
    rows = np.frombuffer(buf, np.uint8, end - pos, pos).reshape(-1, size)
    varint = rows[:, 12:]
    if not (
        (rows[:, 0] == 0x12).all() and (rows[:, 1] == size - 2).all() and (rows[:, 2] == 0x09).all()
        and (rows[:, 11] == 0x10).all() and (varint[:, :-1] >= 0x80).all() and (varint[:, -1] < 0x80).all()
    ):
        return None
    if varint.shape[1] > 9:
        return None  # negative timestamps: the general path handles them
    ts = np.zeros(rows.shape[0], dtype=np.int64)
    for j in range(varint.shape[1]):
        ts |= (varint[:, j] & 0x7F).astype(np.int64) << (7 * j)
    vs = np.ascontiguousarray(rows[:, 3:11]).view("<f8").ravel()
    return list(zip(ts.tolist(), vs.tolist(), strict=True)), end


def _series(buf: bytes, pos: int, end: int) -> Series:
    labels: list[tuple[str, str]] = []
    samples: list[tuple[int, float]] = []
    while pos < end:
        if not samples and buf[pos] == 0x12 and (run := _sample_run(buf, pos, end)) is not None:
            samples, pos = run
            continue
        key, pos = _uvarint(buf, pos, end)
        if key == 0x0A:
            stop, pos = _length(buf, pos, end)
            labels.append(_label(buf, pos, stop))
            pos = stop
        elif key == 0x12:
            stop, pos = _length(buf, pos, end)
            samples.append(_sample(buf, pos, stop))
            pos = stop
        else:
            pos = _skip(buf, pos, end, key & 7)
    return labels, samples


def decode_write_request(data: bytes) -> list[Series]:
    """The series of a decompressed WriteRequest: (labels as sent, samples as sent)."""
    out: list[Series] = []
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _uvarint(data, pos, end)
        if key == 0x0A:
            stop, pos = _length(data, pos, end)
            out.append(_series(data, pos, stop))
            pos = stop
        else:
            pos = _skip(data, pos, end, key & 7)
    return out
