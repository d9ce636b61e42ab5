"""Where Prometheus 2.42 scrapes a target within each interval, computed, so a
benchmark can check the phases it observes against Prometheus's own rule.

Prometheus's rule (scrape/target.go, ``Target.offset`` and ``hash``;
``Manager.setJitterSeed``): the target's hash is FNV-1a 64 of the decimal
xxHash64 of its full label set (``__address__``, ``__metrics_path__``,
``__scheme__``, ``__scrape_interval__``, ``__scrape_timeout__``, ``instance``,
``job``, ...; each name and value followed by a 0xff byte), zero-padded to 16
digits, then of the target's URL; XORed with the jitter seed, FNV-1a 64 of
the host's name and the external labels as ``{a="b", ...}``; modulo the
interval in nanoseconds. The scrapes fall at that offset past every multiple
of the interval since the epoch.

xxHash64 and FNV-1a are written here from their specifications (no package
needed); pure Python, fine for a few thousand targets.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

__all__ = ["fnv64a", "jitter_seed", "prom_duration", "prometheus_offset_ns", "static_target_offset_s", "xxhash64"]

_M = (1 << 64) - 1
_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def _merge(acc: int, val: int) -> int:
    return ((acc ^ _round(0, val)) * _P1 + _P4) & _M


def xxhash64(data: bytes, seed: int = 0) -> int:
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed & _M, (seed - _P1) & _M]
        while i + 32 <= n:
            lanes = struct.unpack_from("<4Q", data, i)
            v = [_round(a, lane) for a, lane in zip(v, lanes, strict=True)]
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
        for a in v:
            h = _merge(h, a)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * _P1) & _M
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
    return h ^ (h >> 32)


def fnv64a(data: bytes) -> int:
    h = 14695981039346656037
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & _M
    return h


def jitter_seed(hostname: str, external_labels: Sequence[tuple[str, str]] = ()) -> int:
    text = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(external_labels)) + "}"
    return fnv64a((hostname + text).encode())


def prometheus_offset_ns(labels: Sequence[tuple[str, str]], url: str, interval_ns: int, seed: int) -> int:
    """The target's offset past each multiple of the interval, in nanoseconds."""
    flat = b"".join(k.encode() + b"\xff" + v.encode() + b"\xff" for k, v in sorted(labels))
    target_hash = fnv64a(b"%016d" % xxhash64(flat) + url.encode())
    return (target_hash ^ seed) % interval_ns


def prom_duration(seconds: float) -> str:
    """A duration as Prometheus prints it (``model.Duration.String``): 5s, 1m, 1m30s."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = ""
    for unit, mult, exact in (("y", 31_536_000_000, True), ("w", 604_800_000, True), ("d", 86_400_000, False),
                              ("h", 3_600_000, False), ("m", 60_000, False), ("s", 1000, False), ("ms", 1, False)):
        if exact and ms % mult:
            continue
        if ms // mult:
            out += f"{ms // mult}{unit}"
            ms -= ms // mult * mult
    return out


def static_target_offset_s(address: str, job: str, interval_s: float, timeout_s: float, seed: int) -> float:
    """Prometheus's offset for a static ``http`` target at ``/metrics`` with no
    relabelling, in seconds."""
    labels = [("__address__", address), ("__metrics_path__", "/metrics"), ("__scheme__", "http"),
              ("__scrape_interval__", prom_duration(interval_s)), ("__scrape_timeout__", prom_duration(timeout_s)),
              ("instance", address), ("job", job)]
    interval_ns = round(interval_s * 1e9)
    return prometheus_offset_ns(labels, f"http://{address}/metrics", interval_ns, seed) / 1e9
