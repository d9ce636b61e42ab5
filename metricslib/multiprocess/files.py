"""Files, locks and process identity for multi-worker aggregation.

Layout of the directory given to ``metricslib.multiprocess.setup``::

    <directory>/gen-<server pid>-<server start ticks>/   one per server run
        lock                  flock'ed while a scrape or an archive is in progress
        w-<pid>-<start>.mm    a live (or dead, not yet archived) worker's instrument
                              values, written through on every increment (values.py)
        w-<pid>-<start>.snap  its last snapshot of the whole registry
        archive.snap          what dead workers of this run left behind

A process is identified by its pid *and* its start time (clock ticks since
boot, from ``/proc/<pid>/stat``) so a recycled pid is never mistaken for the
worker that used to own it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import MultiprocessError

__all__ = [
    "ProcessId",
    "WorkerFile",
    "atomic_write",
    "generation_dir",
    "list_workers",
    "locked",
    "process_id",
    "remove_stale_generations",
    "remove_stale_temp_files",
    "socket_address",
    "values_path",
    "worker_path",
]

_WORKER_RE = re.compile(r"^w-(\d+)-(\d+)\.(snap|mm)$")
_GEN_RE = re.compile(r"^gen-(\d+)-(\d+)$")


@dataclass(frozen=True)
class ProcessId:
    pid: int
    start: int  # clock ticks since boot; 0 where /proc is not available

    def is_alive(self) -> bool:
        """True while this very process (not a later one with its pid) runs."""
        current = _read_start(self.pid)
        if current is None:
            return False
        return self.start == 0 or current == self.start


def _read_start(pid: int) -> int | None:
    """Start time of ``pid`` in ticks, None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return _alive_without_proc(pid)
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def _alive_without_proc(pid: int) -> int | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return 0
    return 0


def process_id(pid: int | None = None) -> ProcessId:
    pid = os.getpid() if pid is None else pid
    if sys.platform.startswith("linux"):
        start = _read_start(pid)
        if start is None:
            raise MultiprocessError(f"process {pid} does not exist")
        return ProcessId(pid, start)
    return ProcessId(pid, 0)


def generation_dir(directory: Path, server: ProcessId) -> Path:
    return directory / f"gen-{server.pid}-{server.start}"


@dataclass(frozen=True)
class WorkerFile:
    """A worker's files: ``path`` its snapshot (``.snap``), ``values`` its value file (``.mm``).

    Either may be missing: a worker killed while starting may have only one.
    """

    path: Path
    process: ProcessId

    @property
    def values(self) -> Path:
        return self.path.with_suffix(".mm")


def worker_path(gen_dir: Path, proc: ProcessId) -> Path:
    return gen_dir / f"w-{proc.pid}-{proc.start}.snap"


def values_path(gen_dir: Path, proc: ProcessId) -> Path:
    return worker_path(gen_dir, proc).with_suffix(".mm")


def list_workers(gen_dir: Path) -> list[WorkerFile]:
    """One entry per worker that has a snapshot or a value file (or both)."""
    seen: dict[ProcessId, WorkerFile] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(gen_dir):
            m = _WORKER_RE.match(entry.name)
            if m:
                proc = ProcessId(int(m[1]), int(m[2]))
                seen.setdefault(proc, WorkerFile(worker_path(gen_dir, proc), proc))
    return list(seen.values())


def remove_stale_temp_files(gen_dir: Path, max_age: float = 60.0) -> None:
    """Delete half-written files a killed process left behind (they never get renamed)."""
    cutoff = time.time() - max_age
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(gen_dir):
            if entry.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)


def remove_stale_generations(directory: Path, keep: Path) -> list[Path]:
    """Delete the folders of server runs whose server process has exited."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            m = _GEN_RE.match(entry.name)
            if not m or Path(entry.path) == keep:
                continue
            if not ProcessId(int(m[1]), int(m[2])).is_alive():
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
    return removed


def atomic_write(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(gen_dir: Path, timeout: float = 10.0) -> Iterator[None]:
    """Exclusive lock on the run's folder; processes and threads both wait."""
    import fcntl  # here, not at the top: serve imports this module on every platform

    path = gen_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MultiprocessError(
                        f"could not lock {path} within {timeout}s: another worker holds it"
                    ) from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def socket_address(gen_dir: Path, proc: ProcessId) -> str | bytes:
    """Where a worker listens: an abstract socket on Linux (nothing on disk to
    clean up, gone when the process dies), else a socket file in the folder."""
    if sys.platform.startswith("linux"):
        import hashlib

        tag = hashlib.sha1(str(gen_dir.resolve()).encode()).hexdigest()[:16]
        return f"\0metricslib-{tag}-{proc.pid}-{proc.start}".encode()
    path = str(gen_dir / f"w-{proc.pid}.sock")
    if len(path.encode()) > 100:
        raise MultiprocessError(
            f"socket path {path!r} is too long for a Unix socket: use a shorter directory"
        )
    return path
