"""``/api/v1/status/runtimeinfo``: Prometheus's fields, filled with this process's equivalents.

Prometheus reports Go runtime settings; a Python process has none of them, so
each field carries the nearest meaning here: ``goroutineCount`` is the number
of live threads, ``GOMAXPROCS`` the CPUs the process may run on,
``GOMEMLIMIT`` the address-space limit (``RLIMIT_AS``; Go's "no limit" value
when unlimited), ``GOGC`` the garbage collector's thresholds (``off`` when it
is disabled) and ``GODEBUG`` the interpreter's ``-X`` options.
``corruptionCount`` stays 0: the store refuses to open a corrupt file rather
than repairing it and counting. Prometheus 2.42 lacks ``GOMEMLIMIT``; later
releases have it.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone

from metricslib.collector.promql.parser.pretty import go_duration

__all__ = ["GO_NO_MEMORY_LIMIT", "RuntimeInfo", "rfc3339"]

#: Go's math.MaxInt64, what Prometheus shows when no memory limit is set.
GO_NO_MEMORY_LIMIT = 2**63 - 1


def rfc3339(ts: float, *, nanos: bool = True) -> str:
    """A Unix time as Go writes ``time.Time`` in JSON (UTC, ``Z``, no trailing zeros in the fraction)."""
    moment = datetime.fromtimestamp(ts if nanos else int(ts), timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def _memory_limit() -> int:
    try:
        import resource
    except ImportError:  # not on every platform
        return GO_NO_MEMORY_LIMIT
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return GO_NO_MEMORY_LIMIT if soft == resource.RLIM_INFINITY or soft < 0 else soft


def _gc_setting() -> str:
    return ",".join(str(t) for t in gc.get_threshold()) if gc.isenabled() else "off"


def _x_options() -> str:
    return ",".join(k if v is True else f"{k}={v}" for k, v in sorted(sys._xoptions.items()))


class RuntimeInfo:
    """Called per request; ``reload_state`` gives (the last reload succeeded, Unix time the
    config in force was loaded): Prometheus's ``lastConfigTime`` stays put on a failed reload."""

    def __init__(
        self,
        *,
        start_time: float,
        retention_ms: int,
        reload_state: Callable[[], tuple[bool, float]],
    ) -> None:
        self._start_time = start_time
        self._retention = go_duration(retention_ms)
        self._reload_state = reload_state

    def __call__(self) -> dict[str, object]:
        success, last = self._reload_state()
        return {
            "startTime": rfc3339(self._start_time),
            "CWD": os.getcwd(),
            "reloadConfigSuccess": success,
            "lastConfigTime": rfc3339(last, nanos=False),  # Prometheus keeps whole seconds
            "corruptionCount": 0,
            "goroutineCount": threading.active_count(),
            "GOMAXPROCS": _cpus(),
            "GOMEMLIMIT": _memory_limit(),
            "GOGC": _gc_setting(),
            "GODEBUG": _x_options(),
            "storageRetention": self._retention,
        }
