"""Process and runtime collectors for the default registry.

Safe for pre-fork servers (gunicorn, uWSGI): nothing process-specific is
captured when this module is imported or a collector is created. Every
``collect()`` reads ``/proc/self`` of whichever process is being scraped,
so a worker forked after import reports its own pid's numbers. The GC
collector reads ``gc.get_stats()`` at collection time and installs no
``gc.callbacks`` — nothing runs (or takes a lock) inside garbage collection,
the source of prometheus_client's old deadlocks.
"""

from __future__ import annotations

import gc
import os
import platform
from collections.abc import Iterator
from typing import TYPE_CHECKING

from metricslib.metric_families import CounterMetricFamily, GaugeMetricFamily
from metricslib.model import MetricFamily

if TYPE_CHECKING:
    from metricslib.registry import Registry

__all__ = [
    "GCCollector",
    "PlatformCollector",
    "ProcessCollector",
    "register_default_collectors",
]


class ProcessCollector:
    """``process_*`` metrics of the collecting process, read from ``<proc>/self``.

    ``pid`` may name another process (a callable returning its pid, as in
    prometheus_client); by default it is the process running ``collect()``.
    Where ``/proc`` does not exist only CPU time is reported.
    """

    def __init__(self, namespace: str = "", pid: object = None, proc: str = "/proc") -> None:
        self._prefix = f"{namespace}_process_" if namespace else "process_"
        self._pid = pid
        self._proc = proc

    def _dir(self) -> str:
        if self._pid is None:
            return os.path.join(self._proc, "self")
        pid = self._pid() if callable(self._pid) else self._pid
        return os.path.join(self._proc, str(pid))

    def describe(self) -> list[MetricFamily]:
        p = self._prefix
        return [
            CounterMetricFamily(p + "cpu_seconds", "Total user and system CPU time spent in seconds."),
            GaugeMetricFamily(p + "virtual_memory_bytes", "Virtual memory size in bytes."),
            GaugeMetricFamily(p + "resident_memory_bytes", "Resident memory size in bytes."),
            GaugeMetricFamily(p + "start_time_seconds", "Start time of the process since unix epoch in seconds."),
            GaugeMetricFamily(p + "open_fds", "Number of open file descriptors."),
            GaugeMetricFamily(p + "max_fds", "Maximum number of open file descriptors."),
        ]

    def collect(self) -> Iterator[MetricFamily]:
        p = self._prefix
        directory = self._dir()
        try:
            with open(os.path.join(directory, "stat"), "rb") as f:
                stat = f.read().decode()
        except OSError:
            if self._pid is None:
                times = os.times()
                yield CounterMetricFamily(
                    p + "cpu_seconds",
                    "Total user and system CPU time spent in seconds.",
                    value=times.user + times.system,
                )
            return
        # Fields after the parenthesised command name, which may itself contain spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = os.sysconf("SC_CLK_TCK")
        page = os.sysconf("SC_PAGE_SIZE")
        yield CounterMetricFamily(
            p + "cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            value=(float(fields[11]) + float(fields[12])) / ticks,
        )
        yield GaugeMetricFamily(p + "virtual_memory_bytes", "Virtual memory size in bytes.", value=float(fields[20]))
        yield GaugeMetricFamily(
            p + "resident_memory_bytes", "Resident memory size in bytes.", value=float(fields[21]) * page
        )
        boot = _boot_time(self._proc)
        if boot is not None:
            yield GaugeMetricFamily(
                p + "start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                value=boot + float(fields[19]) / ticks,
            )
        try:
            open_fds = len(os.listdir(os.path.join(directory, "fd")))
        except OSError:
            open_fds = -1
        if open_fds >= 0:
            yield GaugeMetricFamily(p + "open_fds", "Number of open file descriptors.", value=open_fds)
        max_fds = _max_fds(directory)
        if max_fds is not None:
            yield GaugeMetricFamily(p + "max_fds", "Maximum number of open file descriptors.", value=max_fds)


def _boot_time(proc: str) -> float | None:
    try:
        with open(os.path.join(proc, "stat"), "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _max_fds(directory: str) -> float | None:
    try:
        with open(os.path.join(directory, "limits"), "rb") as f:
            for line in f:
                if line.startswith(b"Max open files"):
                    value = line.split()[3]
                    return float("inf") if value == b"unlimited" else float(value)
    except OSError:
        pass
    return None


class PlatformCollector:
    """``python_info{implementation, major, minor, patchlevel, version} 1``."""

    def describe(self) -> list[MetricFamily]:
        return [GaugeMetricFamily("python_info", "Python platform information")]

    def collect(self) -> Iterator[MetricFamily]:
        major, minor, patch = platform.python_version_tuple()
        family = GaugeMetricFamily(
            "python_info",
            "Python platform information",
            labels=["implementation", "major", "minor", "patchlevel", "version"],
        )
        family.add_metric(
            [platform.python_implementation(), major, minor, patch, platform.python_version()], 1.0
        )
        yield family


class GCCollector:
    """``python_gc_*`` counters per generation, from ``gc.get_stats()`` at collection."""

    def describe(self) -> list[MetricFamily]:
        return [
            CounterMetricFamily("python_gc_objects_collected", "Objects collected during gc"),
            CounterMetricFamily("python_gc_objects_uncollectable", "Uncollectable objects found during GC"),
            CounterMetricFamily("python_gc_collections", "Number of times this generation was collected"),
        ]

    def collect(self) -> Iterator[MetricFamily]:
        collected = CounterMetricFamily(
            "python_gc_objects_collected", "Objects collected during gc", labels=["generation"]
        )
        uncollectable = CounterMetricFamily(
            "python_gc_objects_uncollectable", "Uncollectable objects found during GC", labels=["generation"]
        )
        collections = CounterMetricFamily(
            "python_gc_collections", "Number of times this generation was collected", labels=["generation"]
        )
        for generation, stat in enumerate(gc.get_stats()):
            gen = str(generation)
            collected.add_metric([gen], stat["collected"])
            uncollectable.add_metric([gen], stat["uncollectable"])
            collections.add_metric([gen], stat["collections"])
        yield collected
        yield uncollectable
        yield collections


def register_default_collectors(registry: Registry) -> tuple[ProcessCollector, PlatformCollector, GCCollector]:
    """Register process, platform and GC collectors (done for ``REGISTRY`` on import)."""
    collectors = (ProcessCollector(), PlatformCollector(), GCCollector())
    for collector in collectors:
        registry.register(collector)
    return collectors


