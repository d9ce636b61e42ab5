"""When a rule group evaluates: Prometheus's aligned timestamps and missed iterations.

Prometheus spreads groups over their interval by a per-group offset, the
XXH64 hash of the group's labels ``{file=..., name=...}`` modulo the interval
(in nanoseconds). Every evaluation happens at ``base + offset`` for some
multiple ``base`` of the interval, so two servers loading the same file
(under the same path) evaluate at the same instants and their recorded
samples line up.
"""

from __future__ import annotations

__all__ = ["eval_timestamp_ns", "group_hash", "next_evaluation", "xxh64"]

_M = (1 << 64) - 1
_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 as Go's xxhash.Sum64 computes it (seed 0 there)."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed & _M, (seed - _P1) & _M]
        while i + 32 <= n:
            for lane in range(4):
                v[lane] = _round(v[lane], int.from_bytes(data[i + 8 * lane : i + 8 * lane + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
        for lane in v:
            h = ((h ^ _round(0, lane)) * _P1 + _P4) & _M
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i : i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i : i + 4], "little") * _P1) & _M
        h = (_rotl(h, 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M
        h = (_rotl(h, 11) * _P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    h ^= h >> 32
    return h


def group_hash(file: str, name: str) -> int:
    """Prometheus's ``labels.FromStrings("name", name, "file", file).Hash()``."""
    sep = b"\xff"
    return xxh64(b"file" + sep + file.encode() + sep + b"name" + sep + name.encode() + sep)


def eval_timestamp_ns(now_ns: int, interval_ns: int, hash_value: int) -> int:
    """The latest aligned evaluation time at or before ``now_ns``."""
    offset = hash_value % interval_ns
    adjusted = now_ns - offset
    return adjusted - adjusted % interval_ns + offset


def next_evaluation(last_ns: int, now_ns: int, interval_ns: int) -> tuple[int, int]:
    """After evaluating at ``last_ns``, woken at ``now_ns``: (next time, iterations missed).

    As Prometheus's ticker loop: iterations that fell wholly behind are
    skipped and counted, the group never evaluates twice to catch up."""
    missed = max((now_ns - last_ns) // interval_ns - 1, 0)
    return last_ns + (missed + 1) * interval_ns, missed
