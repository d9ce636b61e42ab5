"""Instrument values in a memory-mapped file, so a SIGKILLed worker loses none.

While a worker is set up, every Counter, Gauge, Histogram and Summary child
keeps its numbers in this worker's ``w-<pid>-<start>.mm`` file instead of
in private Python lists: an increment is still ``cell[0] += amount``, only
``cell`` is a ``memoryview`` of doubles inside a shared mapping (measured
within a few ns of a list). The kernel keeps the pages when the process dies,
so whoever archives a dead worker reads every increment it made.

Layout (native byte order and doubles: every reader is on the same machine)::

    file   = chunk*                       chunks are mapped one by one, so the
                                          file grows without moving old cells
    chunk  = header record*               header: magic (8 bytes), chunk size,
                                          bytes committed, reserved (u64 each)
    record = kind flags a b (u32 each) payload, padded to 8 bytes
      series (kind 1): a = series id, b = identity length; payload = identity
      cell   (kind 2): a = series id, b = number of doubles; payload = doubles

A series' identity (family name, type, help, unit, label names and values,
created time, histogram bounds) is written once, when the child is created;
each thread that writes a counter, histogram or summary child gets its own
cell (the instruments' per-thread cells, lock free), a gauge child one cell
``[value, time of last write]``. A record becomes visible only when the
chunk's committed size is moved past it, after it is fully written. ``flags``
= 1 retires a record (a removed child, a reset counter's old cells).
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import mmap
import os
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..errors import MultiprocessError
from ..model import format_value
from .merge import FamilyData, SampleData

__all__ = [
    "CHUNK_SIZE",
    "DURABLE_TYPES",
    "Series",
    "SeriesIdentity",
    "ValueStore",
    "decode",
    "overlay",
    "read_values",
]

log = logging.getLogger("metricslib.multiprocess")

MAGIC = b"MLMPmm01"
CHUNK_SIZE = 1 << 18
_CHUNK_HEADER = struct.Struct("=8sQQQ")
_RECORD = struct.Struct("=IIII")
_COMMITTED = 16  # offset of "bytes committed" in a chunk header
_SERIES, _CELL = 1, 2
RETIRED = 1

#: Instrument types whose values live in the file.
DURABLE_TYPES = frozenset({"counter", "gauge", "histogram", "summary"})


def _pad(n: int) -> int:
    return (n + 7) & ~7


@dataclass(frozen=True)
class SeriesIdentity:
    """Everything needed to turn a series' cells back into samples."""

    name: str
    type: str
    documentation: str
    unit: str
    labelnames: tuple[str, ...]
    labelvalues: tuple[str, ...]
    created: float
    bounds: tuple[float, ...] = ()  # histogram bucket upper bounds, +Inf last

    def encode(self) -> bytes:
        return marshal.dumps(
            (
                self.name,
                self.type,
                self.documentation,
                self.unit,
                tuple(self.labelnames),
                tuple(self.labelvalues),
                float(self.created),
                tuple(float(b) for b in self.bounds),
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> SeriesIdentity:
        name, type_, doc, unit, names, values, created, bounds = marshal.loads(data)
        if type_ not in DURABLE_TYPES or len(names) != len(values):
            raise ValueError(f"bad series identity for {name!r}")
        return cls(
            str(name), str(type_), str(doc), str(unit), tuple(names), tuple(values),
            float(created), tuple(bounds),
        )  # fmt: skip

    def width(self) -> int:
        """Doubles per cell."""
        if self.type == "histogram":
            return len(self.bounds) + 1  # one per bucket, then the sum
        return 1 if self.type == "counter" else 2  # summary: count, sum; gauge: value, time


class _Chunk:
    __slots__ = ("mm", "offset", "size", "used", "view")

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)
        self.view = memoryview(self.mm)
        self.offset = offset
        self.size = size
        self.used = _CHUNK_HEADER.size
        _CHUNK_HEADER.pack_into(self.mm, 0, MAGIC, size, self.used, 0)


class Series:
    """A child's place in the file: hands out its cells, retires them."""

    __slots__ = ("_cells", "_where", "identity", "sid", "store")

    def __init__(self, store: ValueStore, identity: SeriesIdentity, sid: int, where: tuple[int, int]) -> None:
        self.store = store
        self.identity = identity
        self.sid = sid
        self._where = where
        self._cells: list[tuple[int, int]] = []

    def cell(self, initial: list[float]) -> list[float]:
        """A fresh cell holding ``initial``; writes to it land in the file.

        Typed as a list: a ``memoryview`` of doubles indexes, reads and
        ``+=`` like one, which is all the instruments do with a cell.
        """
        try:
            view, where = self.store._new_cell(self.sid, initial)
        except (OSError, MultiprocessError) as exc:
            # Out of space (or the file is closed): count in process rather than fail the caller.
            self.store._failed(exc)
            return initial
        self._cells.append(where)
        return cast("list[float]", view)

    def retire_cells(self) -> None:
        """The cells handed out so far no longer count (a reset)."""
        for where in self._cells:
            self.store._retire(where)
        self._cells = []

    def retire(self) -> None:
        """The whole series no longer counts (a removed child)."""
        self.store._retire(self._where)
        self._cells = []

    def renew(self, created: float) -> Series | None:
        """A new series replacing this one (a reset counter: new ``_created``, zero cells).

        None if the file cannot take it: the child then counts in process.
        """
        self.retire()
        ident = self.identity
        try:
            return self._declare_again(ident, created)
        except (OSError, MultiprocessError) as exc:
            self.store._failed(exc)
            return None

    def _declare_again(self, ident: SeriesIdentity, created: float) -> Series:
        return self.store.declare(
            SeriesIdentity(
                ident.name, ident.type, ident.documentation, ident.unit,
                ident.labelnames, ident.labelvalues, created, ident.bounds,
            )
        )  # fmt: skip


class ValueStore:
    """This worker's value file. One per worker; the instruments hold its cells."""

    def __init__(self, path: Path, chunk_size: int = CHUNK_SIZE) -> None:
        if chunk_size % mmap.ALLOCATIONGRANULARITY:
            raise MultiprocessError(f"chunk size {chunk_size} is not a multiple of the page size")
        self.path = path
        self._chunk_size = chunk_size
        self._lock = threading.Lock()
        self._chunks: list[_Chunk] = []
        self._next_id = 0
        self._closed = False
        self._warned = False
        self._parents: list[Any] = []
        # Gauges' cells by (family, labels): the mostrecent modes read their write times.
        self._gauges: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise MultiprocessError(f"cannot create value file {path}: {exc}") from exc

    # --- writing -------------------------------------------------------------------------

    def _reserve(self, size: int) -> tuple[int, int]:
        """Room for a record of ``size`` bytes: (chunk index, offset). Under the lock."""
        if self._closed:
            raise MultiprocessError(f"value file {self.path} is closed")
        if self._chunks:
            chunk = self._chunks[-1]
            if chunk.used + size <= chunk.size:
                return len(self._chunks) - 1, chunk.used
        need = _CHUNK_HEADER.size + size
        gran = mmap.ALLOCATIONGRANULARITY
        chunk_size = max(self._chunk_size, (need + gran - 1) // gran * gran)
        offset = self._chunks[-1].offset + self._chunks[-1].size if self._chunks else 0
        # Allocated now, so a full tmpfs is an error here and never a SIGBUS on a later write.
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(self._fd, offset, chunk_size)
        else:  # macOS: sparse, as prometheus_client's files are
            os.ftruncate(self._fd, offset + chunk_size)
        self._chunks.append(_Chunk(self._fd, offset, chunk_size))
        return len(self._chunks) - 1, _CHUNK_HEADER.size

    def _commit(self, index: int, end: int) -> None:
        chunk = self._chunks[index]
        chunk.used = end
        # Last: a reader sees the record only once all of it is written.
        struct.pack_into("=Q", chunk.mm, _COMMITTED, end)

    def declare(self, identity: SeriesIdentity) -> Series:
        """Write a series' identity (once, when its child is created)."""
        payload = identity.encode()
        size = _RECORD.size + _pad(len(payload))
        with self._lock:
            index, off = self._reserve(size)
            chunk = self._chunks[index]
            sid = self._next_id
            self._next_id += 1
            _RECORD.pack_into(chunk.mm, off, _SERIES, 0, sid, len(payload))
            chunk.mm[off + _RECORD.size : off + _RECORD.size + len(payload)] = payload
            self._commit(index, off + size)
        return Series(self, identity, sid, (index, off))

    def _new_cell(self, sid: int, initial: list[float]) -> tuple[Any, tuple[int, int]]:
        n = len(initial)
        size = _RECORD.size + 8 * n
        with self._lock:
            index, off = self._reserve(size)
            chunk = self._chunks[index]
            _RECORD.pack_into(chunk.mm, off, _CELL, 0, sid, n)
            start = off + _RECORD.size
            view = chunk.view[start : start + 8 * n].cast("d")
            for i, value in enumerate(initial):
                view[i] = float(value)
            self._commit(index, off + size)
        return view, (index, off)

    def _failed(self, exc: Exception) -> None:
        if not self._warned and not self._closed:
            self._warned = True
            log.error(
                "metricslib: cannot extend value file %s (%s): new series count in this "
                "process only, and a SIGKILL would lose them",
                self.path,
                exc,
            )

    def _retire(self, where: tuple[int, int]) -> None:
        with self._lock:
            if not self._closed:
                struct.pack_into("=I", self._chunks[where[0]].mm, where[1] + 4, RETIRED)

    # --- instruments ---------------------------------------------------------------------

    def adopt(self, parent: Any, child: Any) -> None:
        """Move a child's values into the file (called by the instruments)."""
        identity = SeriesIdentity(
            parent._name,
            parent._type,
            parent._documentation,
            parent._unit,
            tuple(parent._labelnames),
            tuple(child._labelvalues),
            float(getattr(child, "_created", 0.0)),
            tuple(getattr(parent, "_upper", ())) if parent._type == "histogram" else (),
        )
        try:
            series = self.declare(identity)
        except (OSError, MultiprocessError) as exc:
            self._failed(exc)
            return
        child._attach_series(series)
        if parent._type == "gauge":
            self._gauges[(parent._name, tuple(child._labels.items()))] = child._cell

    def attach(self, parents: Iterable[Any]) -> None:
        """Move every child of these instruments (and their future children) into the file."""
        for parent in parents:
            if getattr(parent, "_type", None) in DURABLE_TYPES and hasattr(parent, "_attach_store"):
                parent._attach_store(self)
                self._parents.append(parent)

    def gauge_stamp(self, family: str, labels: tuple[tuple[str, str], ...]) -> float | None:
        """When a gauge series was last written (None if it is not in the file)."""
        cell = self._gauges.get((family, labels))
        return None if cell is None else cell[1]

    def detach(self) -> None:
        """Give every instrument private values again (a copy of the file's), then unmap.

        For a forked child (it must not write into its parent's file) and for
        a worker leaving the aggregation.
        """
        with self._lock:
            parents, self._parents = self._parents, []
        for parent in parents:
            parent._detach_store()
        self._gauges.clear()
        with self._lock:
            self._closed = True
            chunks, self._chunks = self._chunks, []
        for chunk in chunks:
            # A cell someone still holds (a local variable) keeps its mapping alive.
            with contextlib.suppress(BufferError):
                chunk.view.release()
                chunk.mm.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def unlink(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# --- reading -------------------------------------------------------------------------------


@dataclass
class _Found:
    identity: SeriesIdentity
    retired: bool
    cells: list[list[float]] = field(default_factory=list)


def decode(data: bytes, source: str = "value file") -> tuple[list[_Found], set[str]]:
    """Every committed series (retired ones flagged) and every family name seen."""
    series: dict[int, _Found] = {}
    orphans: list[tuple[int, list[float]]] = []
    families: set[str] = set()
    pos = 0
    while pos + _CHUNK_HEADER.size <= len(data):
        magic, size, used, _ = _CHUNK_HEADER.unpack_from(data, pos)
        if magic != MAGIC or size < _CHUNK_HEADER.size or used > size:
            if pos == 0 and magic != MAGIC and any(data[: _CHUNK_HEADER.size]):
                raise MultiprocessError(f"{source}: not a metricslib value file")
            break  # a chunk being added when the worker died: nothing in it was committed
        end = pos + min(used, size, len(data) - pos)
        off = pos + _CHUNK_HEADER.size
        while off + _RECORD.size <= end:
            kind, flags, a, b = _RECORD.unpack_from(data, off)
            body = off + _RECORD.size
            if kind == _SERIES:
                if body + b > end:
                    raise MultiprocessError(f"{source}: series record at byte {off} overruns its chunk")
                try:
                    identity = SeriesIdentity.decode(data[body : body + b])
                except (ValueError, EOFError, TypeError) as exc:
                    raise MultiprocessError(f"{source}: bad series identity at byte {off} ({exc})") from exc
                series[a] = _Found(identity, bool(flags & RETIRED))
                families.add(identity.name)
                off = body + _pad(b)
            elif kind == _CELL:
                if body + 8 * b > end:
                    raise MultiprocessError(f"{source}: cell record at byte {off} overruns its chunk")
                if not flags & RETIRED:
                    values = list(memoryview(data)[body : body + 8 * b].cast("d"))
                    orphans.append((a, values))
                off = body + 8 * b
            else:
                raise MultiprocessError(f"{source}: unknown record kind {kind} at byte {off}")
        pos += size
    for sid, values in orphans:
        found = series.get(sid)
        if found is None:
            raise MultiprocessError(f"{source}: cell of unknown series {sid}")
        found.cells.append(values)
    return list(series.values()), families


def _samples(found: _Found) -> list[SampleData]:
    ident = found.identity
    labels = dict(zip(ident.labelnames, ident.labelvalues, strict=True))
    width = ident.width()
    totals = [0.0] * width
    for values in found.cells:
        for i in range(min(width, len(values))):
            totals[i] += values[i]
    name = ident.name
    if ident.type == "counter":
        return [SampleData(name + "_total", labels, totals[0]), SampleData(name + "_created", dict(labels), ident.created)]
    if ident.type == "gauge":
        if found.cells:
            value, stamp = found.cells[-1][0], found.cells[-1][1]  # one cell per gauge child
        else:
            value = stamp = 0.0
        return [SampleData(name, labels, value, changed=stamp)]
    if ident.type == "summary":
        count, total = totals[0], totals[1]
    else:
        out = []
        acc = 0.0
        for bound, n in zip(ident.bounds, totals, strict=False):
            acc += n
            out.append(SampleData(name + "_bucket", {**labels, "le": format_value(bound)}, acc))
        out.append(SampleData(name + "_count", dict(labels), acc))
        out.append(SampleData(name + "_sum", dict(labels), totals[-1]))
        out.append(SampleData(name + "_created", dict(labels), ident.created))
        return out
    return [
        SampleData(name + "_count", labels, count),
        SampleData(name + "_sum", dict(labels), total),
        SampleData(name + "_created", dict(labels), ident.created),
    ]


def read_values(data: bytes, source: str = "value file") -> list[FamilyData]:
    """The families a value file holds, shaped as the registry collects them.

    A family whose children were all removed comes back empty, so it hides
    what an older snapshot file says about it (see ``overlay``).
    """
    found, names = decode(data, source)
    out: dict[str, FamilyData] = {name: FamilyData(name, "") for name in sorted(names)}
    for item in found:
        ident = item.identity
        fam = out[ident.name]
        if not fam.type:
            fam.type, fam.documentation, fam.unit = ident.type, ident.documentation, ident.unit
        if not item.retired:
            fam.samples.extend(_samples(item))
    for item in found:  # a family known only from retired series keeps its type
        fam = out[item.identity.name]
        if not fam.type:
            fam.type = item.identity.type
    return list(out.values())


def overlay(snapshot: list[FamilyData], values: list[FamilyData]) -> list[FamilyData]:
    """A worker's last snapshot with every family the value file holds replaced by the file's.

    The file is exact up to the worker's last instruction; the snapshot adds
    what is not an instrument value (Info, Enum, custom collectors, process metrics).
    """
    exact = {f.name: f for f in values}
    merged = [exact.pop(f.name, f) for f in snapshot]
    merged.extend(exact.values())
    return merged


def now() -> float:
    """Wall-clock time of a gauge write (what ``mostrecent`` compares)."""
    return time.time()
