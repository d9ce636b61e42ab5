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

import cramjam

__all__ = ["MAX_DECODED_BYTES", "RemoteWriteDecodeError", "decode_write_request", "snappy_decompress"]

#: a body that expands beyond this is refused before it is decompressed
MAX_DECODED_BYTES = 64 << 20

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
    n, pos = _uvarint(buf, pos, end)
    if pos + n > end:
        raise RemoteWriteDecodeError(f"length {n} at byte {pos} runs past the end of its message ({end})")
    return pos + n, pos


def _text(buf: bytes, start: int, stop: int) -> str:
    try:
        return buf[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteWriteDecodeError(f"label at byte {start} is not valid UTF-8") from None


def _label(buf: bytes, pos: int, end: int) -> tuple[str, str]:
    name = value = ""
    while pos < end:
        key, pos = _uvarint(buf, pos, end)
        if key == 0x0A:
            stop, pos = _length(buf, pos, end)
            name, pos = _text(buf, pos, stop), stop
        elif key == 0x12:
            stop, pos = _length(buf, pos, end)
            value, pos = _text(buf, pos, stop), stop
        else:
            pos = _skip(buf, pos, end, key & 7)
    return name, value


def _sample(buf: bytes, pos: int, end: int) -> tuple[int, float]:
    value, t = 0.0, 0
    if end - pos >= 10 and buf[pos] == 0x09 and buf[pos + 9] == 0x10:
        # The layout every sender writes: value, then timestamp, nothing else.
        value = _DOUBLE.unpack_from(buf, pos + 1)[0]
        t, pos = _uvarint(buf, pos + 10, end)
    while pos < end:
        key, pos = _uvarint(buf, pos, end)
        if key == 0x09:
            if pos + 8 > end:
                raise RemoteWriteDecodeError(f"truncated sample value at byte {pos}")
            value = _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        elif key == 0x10:
            t, pos = _uvarint(buf, pos, end)
        else:
            pos = _skip(buf, pos, end, key & 7)
    if t >= 1 << 63:
        t -= 1 << 64  # int64: negative timestamps are ten-byte two's complement
    return t, value


def _series(buf: bytes, pos: int, end: int) -> Series:
    labels: list[tuple[str, str]] = []
    samples: list[tuple[int, float]] = []
    while pos < end:
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
