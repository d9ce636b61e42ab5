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
from collections.abc import Iterable

from metricslib.collector.model.hashing import fnv64a, xxh64
from metricslib.collector.model.quoting import go_quote

__all__ = ["hostname", "jitter_seed", "labels_hash", "next_slot", "offset_ns", "target_hash"]


def labels_hash(labels: Iterable[tuple[str, str]]) -> int:
    """Prometheus's ``labels.Labels.Hash``. Labels with an empty value are left
    out: Prometheus's label sets never hold them."""
    return xxh64(b"".join(k.encode() + b"\xff" + v.encode() + b"\xff" for k, v in sorted(labels) if v))


def target_hash(labels: Iterable[tuple[str, str]], url: str) -> int:
    """Prometheus's ``Target.hash``: all the target's labels (``__`` ones
    included) and its scrape URL."""
    return fnv64a(b"%016d" % labels_hash(labels) + url.encode())


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
