"""Prometheus remote-write 1.0 wire format: a protobuf ``WriteRequest``, snappy-framed.

Encoded by hand (the message has four tiny types), so the collector needs no
protobuf runtime. Snappy comes from ``cramjam`` when installed; otherwise the
body is a valid snappy stream made only of literals, which every receiver
decodes, just without compression.

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from types import ModuleType

from metricslib.collector.model import Labels

__all__ = ["encode_write_request", "snappy_compress", "varint"]

_cramjam: ModuleType | None
try:  # optional: real compression
    import cramjam as _cramjam
except ImportError:  # pragma: no cover - exercised where cramjam is absent
    _cramjam = None


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 fields encode negatives as ten-byte two's complement
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


_LABEL_CACHE_LIMIT = 100_000
_label_cache: dict[Labels, bytes] = {}


def _encode_labels(labels: Labels) -> bytes:
    # Scrapes send the same series over and over: encoding each label set once pays.
    cached = _label_cache.get(labels)
    if cached is None:
        cached = b"".join(
            _field_bytes(1, _field_bytes(1, name.encode()) + _field_bytes(2, value.encode()))
            for name, value in labels
        )
        if len(_label_cache) >= _LABEL_CACHE_LIMIT:
            _label_cache.clear()
        _label_cache[labels] = cached
    return cached


_SAMPLE_VALUE_KEY = bytes([1 << 3 | 1])
_SAMPLE_TS_KEY = bytes([2 << 3 | 0])


def _encode_sample(t_ms: int, value: float) -> bytes:
    return _field_bytes(2, _SAMPLE_VALUE_KEY + struct.pack("<d", value) + _SAMPLE_TS_KEY + varint(t_ms))


def encode_write_request(series: Iterable[tuple[Labels, Sequence[tuple[int, float]]]]) -> bytes:
    """Protobuf bytes of a WriteRequest; each item is (labels, [(t_ms, value), ...])."""
    parts = []
    for labels, samples in series:
        body = _encode_labels(labels) + b"".join(_encode_sample(t, v) for t, v in samples)
        parts.append(_field_bytes(1, body))
    return b"".join(parts)


def _snappy_literals(data: bytes) -> bytes:
    out = bytearray(varint(len(data)))
    block = 65536
    for start in range(0, len(data), block):
        chunk = data[start : start + block]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def snappy_compress(data: bytes) -> bytes:
    """Snappy block format (not the framed stream format), as remote write requires."""
    if _cramjam is not None:
        return bytes(_cramjam.snappy.compress_raw(data))
    return _snappy_literals(data)
