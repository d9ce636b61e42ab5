"""Where in each interval a target is scraped: Prometheus 2.42's rule, to the nanosecond.

Prometheus (``scrape/target.go``: ``Target.hash`` and ``Target.offset``;
``scrape/manager.go``: ``Manager.setJitterSeed``) places each target at

    (target hash XOR jitter seed) mod interval   (nanoseconds)

past every multiple of the interval since the epoch, where

* the target hash is FNV-1a 64 of the target's label set hash (xxHash64 of
  every label of the final target, ``__`` labels included, sorted by name,
  each name and value followed by a 0xff byte) written in decimal and
  zero-padded to 16 digits, followed by the scrape URL;
* the jitter seed is FNV-1a 64 of the host's name as Go's ``osutil.GetFQDN``
  finds it (:func:`hostname`) followed by the external labels written as
  ``{a="x", b="y"}`` (values quoted as Go's ``strconv.Quote`` does).

Computing the same numbers keeps every target's phase where Prometheus 2.42
on the same host, with the same external labels, puts it: switching between
the two does not bunch scrapes or shift the targets' load, and the phase
survives restarts. xxHash64 and FNV-1a are written from their
specifications: pure Python, a few microseconds per target, computed once
per target and not per scrape.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

__all__ = ["fnv64a", "go_quote", "hostname", "jitter_seed", "labels_hash", "next_slot", "offset_ns",
           "target_hash", "xxhash64"]

_M = (1 << 64) - 1
_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def _merge(acc: int, val: int) -> int:
    return ((acc ^ _round(0, val)) * _P1 + _P4) & _M


def xxhash64(data: bytes, seed: int = 0) -> int:
    """XXH64 of ``data``."""
    n = len(data)
    i = 0
    if n >= 32:
        v1, v2, v3, v4 = (seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed & _M, (seed - _P1) & _M
        while i + 32 <= n:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1, v2, v3, v4 = _round(v1, a), _round(v2, b), _round(v3, c), _round(v4, d)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
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
    """FNV-1a, 64 bits."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _M
    return h


def labels_hash(labels: Iterable[tuple[str, str]]) -> int:
    """Prometheus's ``labels.Labels.Hash``. Labels with an empty value are left
    out: Prometheus's label sets never hold them."""
    return xxhash64(b"".join(k.encode() + b"\xff" + v.encode() + b"\xff" for k, v in sorted(labels) if v))


def target_hash(labels: Iterable[tuple[str, str]], url: str) -> int:
    """Prometheus's ``Target.hash``: all the target's labels (``__`` ones
    included) and its scrape URL."""
    return fnv64a(b"%016d" % labels_hash(labels) + url.encode())


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """``text`` as Go's ``strconv.Quote`` writes it (double quotes, printable
    characters kept, the rest escaped)."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def hostname() -> str:
    """The host's name as Prometheus's ``osutil.GetFQDN`` finds it: the system
    host name, then the first name a reverse lookup of one of its addresses
    gives (IPv4 ones first), else the host name itself. Like Go, the lookups
    go through the system's resolver configuration (``/etc/hosts`` first)."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return name
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in sorted(addresses, key=lambda a: ":" in a):  # stable: IPv4 before IPv6
        try:
            return socket.gethostbyaddr(address)[0]
        except (OSError, UnicodeError):
            continue
    return name


def jitter_seed(host: str, external_labels: Iterable[tuple[str, str]] = ()) -> int:
    """Prometheus's ``Manager.setJitterSeed`` for ``host`` (see :func:`hostname`)
    and the global ``external_labels``."""
    text = ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(external_labels))
    return fnv64a(f"{host}{{{text}}}".encode())


def offset_ns(labels: Iterable[tuple[str, str]], url: str, interval_ns: int, seed: int) -> int:
    """The target's scrapes fall this many nanoseconds past each multiple of
    ``interval_ns`` since the epoch (``Target.offset``)."""
    return (target_hash(labels, url) ^ seed) % max(interval_ns, 1)


def next_slot(now_ns: int, offset: int, interval_ns: int, last_slot: int | None) -> tuple[int, int]:
    """The next scrape of a target: (slot, its time in ns since the epoch). Slot
    ``n`` is at ``offset + n * interval_ns``; the next is the first after
    ``now_ns`` and never one already used (``last_slot``), should the clock step
    back. All integers: no rounding on the way."""
    slot = (now_ns - offset) // interval_ns + 1
    if last_slot is not None and slot <= last_slot:
        slot = last_slot + 1
    return slot, offset + slot * interval_ns
