"""The staleness marker: the one NaN bit pattern that says a series has gone."""

from __future__ import annotations

import struct

__all__ = ["STALE_NAN", "STALE_NAN_BITS", "is_stale_nan"]

# Prometheus marks a series as gone with this exact NaN bit pattern; a plain
# NaN is an ordinary value, so the two must never be confused.
_STALE_BITS = 0x7FF0000000000002
_STALE_BYTES = struct.pack("<Q", _STALE_BITS)
STALE_NAN: float = struct.unpack("<d", _STALE_BYTES)[0]
STALE_NAN_BITS = _STALE_BITS


def is_stale_nan(value: float) -> bool:
    """True only for Prometheus's staleness marker, not for other NaNs."""
    return value != value and struct.pack("<d", value) == _STALE_BYTES
