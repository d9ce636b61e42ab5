"""The per-worker agent: answers snapshot requests and keeps a file up to date.

Each worker runs one daemon thread. It listens on a Unix socket; a worker
serving ``/metrics`` connects to every other live worker and reads a
snapshot of its registry. The same thread rewrites the worker's snapshot file
every ``interval`` seconds (and whenever it answers a request). Instrument
values do not depend on it (they are in the worker's value file the moment
they change, see ``values.py``); the snapshot file is what a SIGKILLed or
stopped worker leaves of everything else (Info, Enum, custom collectors).
A snapshot is just ``registry.collect()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .files import ProcessId, atomic_write, socket_address, worker_path
from .merge import FamilyData, dumps_collected, families_from_collect, mode_for

__all__ = ["WorkerAgent", "fetch_snapshot"]

log = logging.getLogger("metricslib.multiprocess")

_REQUEST = b"snapshot\n"


class WorkerAgent:
    """One per worker process; ``retire`` it (under the run's lock) when it exits."""

    def __init__(
        self,
        gen_dir: Path,
        me: ProcessId,
        collect: Callable[[], Iterable[Any]],
        modes: Callable[[], Mapping[str, str]],
        interval: float,
        stamp: Callable[[str, tuple[tuple[str, str], ...]], float | None] | None = None,
    ) -> None:
        self.gen_dir = gen_dir
        self.me = me
        self.path = worker_path(gen_dir, me)
        self._collect = collect
        self._modes = modes
        self._interval = interval
        self._stamp = stamp
        self._write_lock = threading.RLock()
        self._now = 0.0
        self._current_modes: Mapping[str, str] = {}
        self._closed = False
        self._last_write = 0.0
        # (family, sample name, labels) -> (value, when it was first seen at that value)
        self._seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[float, float]] = {}
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = socket_address(gen_dir, me)
        if isinstance(address, str):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address)
        self._sock.bind(address)
        self._sock.listen(16)
        self._sock.settimeout(0.2)  # lets the loop notice `retire` and write periodically
        # Listening before the file exists: whoever finds the file can connect.
        self.write_file()
        self._thread = threading.Thread(
            target=self._run, name=f"metricslib-mp-{me.pid}", daemon=True
        )
        self._thread.start()

    # --- snapshots ------------------------------------------------------------------------

    def _changed(self, family: str, sample: Any) -> float:
        """When this sample's value was first seen as it is now.

        A gauge in the value file knows when it was last written; for other
        families (Enum, custom collectors) the registry keeps no write times,
        so ``mostrecent`` dates a change at the first snapshot that sees it.
        """
        labels = tuple(sample.labels.items())
        if self._stamp is not None and sample.name == family:
            written = self._stamp(family, labels)
            if written is not None:
                return written
        key = (family, sample.name, labels)
        prev = self._seen.get(key)
        if prev is None or prev[0] != sample.value:
            prev = (sample.value, self._now)
            self._seen[key] = prev
        return prev[1]

    def _wants_changed(self, name: str, type_: str) -> bool:
        return mode_for(name, type_, self._current_modes).endswith("mostrecent")

    def families(self) -> list[FamilyData]:
        """This worker's registry as plain data (for the worker serving the scrape)."""
        with self._write_lock:
            self._now = time.time()
            self._current_modes = self._modes()
            families = families_from_collect(self._collect())
            for fam in families:
                if self._wants_changed(fam.name, fam.type):
                    for sample in fam.samples:
                        sample.changed = self._changed(fam.name, sample)
            return families

    def snapshot_bytes(self) -> bytes:
        with self._write_lock:
            self._now = time.time()
            self._current_modes = self._modes()
            return dumps_collected(
                self._collect(),
                self._changed,
                self._wants_changed,
                pid=self.me.pid,
                time=self._now,
            )

    def write_file(self, data: bytes | None = None) -> None:
        """Save a snapshot (the given one, or a fresh one) unless retired."""
        with self._write_lock:
            if data is None:
                data = self.snapshot_bytes()
            # After retire() the worker is archived: a late write would count it twice.
            if not self._closed:
                atomic_write(self.path, data)
                self._last_write = time.monotonic()

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                conn = None
            except OSError:
                return  # the socket was closed by retire()
            if conn is not None:
                self._answer(conn)
            elif time.monotonic() - self._last_write >= self._interval:
                try:
                    self.write_file()
                except Exception:
                    log.exception("metricslib: writing %s failed", self.path)

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5.0)
                conn.recv(len(_REQUEST))
                data = self.snapshot_bytes()
                conn.sendall(data)
            except Exception:
                log.exception("metricslib: answering a snapshot request failed")
                return
        # After answering, so the scrape does not wait for the disk.
        try:
            self.write_file(data)
        except Exception:
            log.exception("metricslib: writing %s failed", self.path)

    def retire(self) -> list[FamilyData]:
        """Stop answering and writing; the caller archives the returned final snapshot."""
        with self._write_lock:
            self._closed = True
            final = self.families()
        with contextlib.suppress(OSError):
            self._sock.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        return final

    def abandon(self) -> None:
        """In a forked child: drop the parent's agent without touching its files."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()


def fetch_snapshot(gen_dir: Path, proc: ProcessId, timeout: float) -> bytes:
    """Ask a live worker for its snapshot; raises OSError if it does not answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(socket_address(gen_dir, proc))
        s.sendall(_REQUEST)
        chunks = []
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ConnectionError(f"worker {proc.pid} closed the connection without a snapshot")
    return data
