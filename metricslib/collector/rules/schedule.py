"""When a rule group evaluates: Prometheus's aligned timestamps and missed iterations.

Prometheus spreads groups over their interval by a per-group offset, the
XXH64 hash of the group's labels ``{file=..., name=...}`` modulo the interval
(in nanoseconds). Every evaluation happens at ``base + offset`` for some
multiple ``base`` of the interval, so two servers loading the same file
(under the same path) evaluate at the same instants and their recorded
samples line up.
"""

from __future__ import annotations

from metricslib.collector.model.hashing import xxh64

__all__ = ["eval_timestamp_ns", "group_hash", "next_evaluation"]


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
