"""Process, platform and GC collectors: values, pre-fork safety, no GC hooks."""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import metricslib
from metricslib import REGISTRY, Registry
from metricslib.process import GCCollector, PlatformCollector, ProcessCollector


def sample_values(registry: Registry) -> dict[str, float]:
    return {s.name: s.value for f in registry.collect() for s in f.samples if not s.labels}


def fake_proc(root: Path) -> None:
    me = root / "self"
    (me / "fd").mkdir(parents=True)
    for i in range(3):
        (me / "fd" / str(i)).touch()
    # pid (comm with spaces) state ... utime=250 stime=150 ... starttime=1000 vsize rss=10 pages
    fields = ["S"] + ["0"] * 10 + ["250", "150"] + ["0"] * 6 + ["1000", "4096000", "10"]
    (me / "stat").write_text("42 (my (odd) proc) " + " ".join(fields) + " 0 0\n")
    (me / "limits").write_text(
        "Limit                     Soft Limit           Hard Limit           Units\n"
        "Max open files            1024                 4096                 files\n"
    )
    (root / "stat").write_text("cpu 1 2 3\nbtime 1700000000\n")


def test_process_collector_reads_proc(tmp_path: Path) -> None:
    fake_proc(tmp_path)
    registry = Registry()
    registry.register(ProcessCollector(proc=str(tmp_path)))
    ticks = os.sysconf("SC_CLK_TCK")
    values = sample_values(registry)
    assert values["process_cpu_seconds_total"] == 400 / ticks
    assert values["process_virtual_memory_bytes"] == 4096000
    assert values["process_resident_memory_bytes"] == 10 * os.sysconf("SC_PAGE_SIZE")
    assert values["process_start_time_seconds"] == 1700000000 + 1000 / ticks
    assert values["process_open_fds"] == 3
    assert values["process_max_fds"] == 1024


def test_process_collector_namespace_and_missing_proc(tmp_path: Path) -> None:
    registry = Registry()
    registry.register(ProcessCollector(namespace="app", proc=str(tmp_path / "absent")))
    assert set(sample_values(registry)) == {"app_process_cpu_seconds_total"}


def test_default_registry_has_live_process_metrics() -> None:
    values = sample_values(REGISTRY)
    assert values["process_resident_memory_bytes"] > 1_000_000
    assert values["process_open_fds"] >= 3
    assert 0 < time.time() - values["process_start_time_seconds"] < 24 * 3600


def test_forked_worker_reports_itself_not_the_parent() -> None:
    # Pre-fork servers import the app (and metricslib) in the master, then fork workers.
    script = (
        "import os, time, metricslib\n"
        "time.sleep(0.3)\n"
        "parent = metricslib.REGISTRY.get_sample_value('process_start_time_seconds')\n"
        "r, w = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.write(w, repr(metricslib.REGISTRY.get_sample_value('process_start_time_seconds')).encode())\n"
        "    os._exit(0)\n"
        "os.close(w)\n"
        "child = float(os.read(r, 100))\n"
        "os.waitpid(pid, 0)\n"
        "print(parent, child)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    parent, child = map(float, out.stdout.split())
    assert child - parent >= 0.2


def test_platform_collector() -> None:
    registry = Registry()
    registry.register(PlatformCollector())
    (family,) = list(registry.collect())
    assert family.samples[0].labels["version"] == platform.python_version()
    assert family.samples[0].value == 1.0


def test_gc_collector_reads_stats_without_callbacks() -> None:
    registry = Registry()
    registry.register(GCCollector())
    gc.collect()
    stats = gc.get_stats()
    collections = registry.get_sample_value("python_gc_collections_total", {"generation": "2"})
    assert collections is not None and collections >= stats[2]["collections"] - 1
    # No hook runs inside garbage collection, so no lock can be taken there.
    assert not any("metricslib" in getattr(cb, "__module__", "") for cb in gc.callbacks)


def test_default_collectors_are_registered_once_on_import() -> None:
    names = {f.name for f in REGISTRY.collect()}
    assert {"process_cpu_seconds", "python_info", "python_gc_objects_collected"} <= names
    assert isinstance(metricslib.PROCESS_COLLECTOR, ProcessCollector)
