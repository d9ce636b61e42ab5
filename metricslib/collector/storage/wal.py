"""The write-ahead log: every committed batch reaches the OS before queries see it.

Files ``DATA_DIR/wal/00000001``, ``00000002``, ... (segments) hold records::

    <u32 payload length> <u32 crc32 of payload> <payload>
    payload = b"S" <i64 series ref> <labels as JSON>                   a new series
            | b"A" <u32 n> <i64 refs * n> <i64 times * n> <f64 values * n>   one commit
            | b"C" <u32 n> <i64 time> <i64 refs * n> <f64 values * n>        one commit, one time

A commit is one ``write()`` of its record (plus the records of series created
since the last commit; a commit with a column is a "C" record for the column
and one for its other samples), made under the head lock before the samples
enter the head: once ``commit()`` returns, a process kill cannot lose the batch
(the bytes are in the OS page cache). There is no fsync per commit, as in
Prometheus; a power loss can lose what the OS had not written back, like the
SQLite checkpoint under ``synchronous=NORMAL``.

Segments rotate when a flush takes its snapshot of the head; once that
flush's SQLite transaction (the checkpoint) has committed, every older
segment is deleted. Series that no flush has written to SQLite yet are
logged again at the top of each new segment, so no surviving segment
names a series it cannot resolve.

Reading (``read_segments``) stops at the first record that is short or fails
its checksum: that segment is truncated there and later segments removed,
with a warning; a damaged tail never stops the store from opening.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.errors import StorageError

__all__ = [
    "SEGMENT_MAX_BYTES",
    "WAL_DIR",
    "ColumnRecord",
    "SamplesRecord",
    "SeriesRecord",
    "WriteAheadLog",
    "encode_column",
    "encode_samples",
    "encode_series",
    "list_segments",
    "read_segments",
]

log = logging.getLogger(__name__)

WAL_DIR = "wal"
#: A segment is also cut at this size, so a long flush outage leaves many
#: segments rather than one unbounded file.
SEGMENT_MAX_BYTES = 128 << 20
_HEAD = struct.Struct("<II")
_SERIES = struct.Struct("<cq")
_COUNT = struct.Struct("<cI")
_COLUMN = struct.Struct("<cIq")


@dataclass(frozen=True)
class SeriesRecord:
    ref: int
    labels: Labels


@dataclass(frozen=True)
class SamplesRecord:
    refs: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]
    vs: npt.NDArray[np.float64]


@dataclass(frozen=True)
class ColumnRecord:
    refs: npt.NDArray[np.int64]
    t: int
    vs: npt.NDArray[np.float64]


Record = SeriesRecord | SamplesRecord | ColumnRecord


def _frame(payload: bytes) -> bytes:
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def encode_series(ref: int, labels: Labels) -> bytes:
    text = json.dumps(labels, ensure_ascii=False, separators=(",", ":")).encode()
    return _frame(_SERIES.pack(b"S", ref) + text)


def encode_samples(refs: list[int], ts: list[int], vs: list[float]) -> bytes:
    # array() converts a list in one C loop, and its buffer is the record body.
    return _frame(b"".join((_COUNT.pack(b"A", len(refs)), array("q", refs), array("q", ts), array("d", vs))))


def encode_column(refs: list[int], t: int, vs: list[float], refs_bytes: bytes | None = None) -> bytes:
    """``refs_bytes``: ``refs`` already packed (a scrape target's refs repeat every scrape)."""
    packed_refs = array("q", refs).tobytes() if refs_bytes is None else refs_bytes
    return _frame(b"".join((_COLUMN.pack(b"C", len(refs), t), packed_refs, array("d", vs))))


def _decode(payload: bytes) -> Record:
    kind = payload[:1]
    if kind == b"S":
        _, ref = _SERIES.unpack_from(payload)
        pairs = json.loads(payload[_SERIES.size :].decode())
        return SeriesRecord(int(ref), tuple((str(k), str(v)) for k, v in pairs))
    if kind == b"A":
        _, n = _COUNT.unpack_from(payload)
        if len(payload) != _COUNT.size + 24 * n:
            raise ValueError(f"samples record of {n} samples has {len(payload)} bytes")
        pos = _COUNT.size
        return SamplesRecord(
            np.frombuffer(payload, "<i8", n, pos).astype(np.int64),
            np.frombuffer(payload, "<i8", n, pos + 8 * n).astype(np.int64),
            np.frombuffer(payload, "<f8", n, pos + 16 * n).astype(np.float64),
        )
    if kind == b"C":
        _, n, t = _COLUMN.unpack_from(payload)
        if len(payload) != _COLUMN.size + 16 * n:
            raise ValueError(f"column record of {n} samples has {len(payload)} bytes")
        pos = _COLUMN.size
        return ColumnRecord(
            np.frombuffer(payload, "<i8", n, pos).astype(np.int64),
            int(t),
            np.frombuffer(payload, "<f8", n, pos + 8 * n).astype(np.float64),
        )
    raise ValueError(f"unknown record type {kind!r}")


def _segment_name(n: int) -> str:
    return f"{n:08d}"


def list_segments(wal_dir: Path) -> list[int]:
    """Segment numbers in ``wal_dir``, ascending (files with other names are ignored)."""
    if not wal_dir.is_dir():
        return []
    return sorted(int(p.name) for p in wal_dir.iterdir() if p.name.isdigit() and p.is_file())


def read_segments(
    wal_dir: Path, on_damage: Callable[[str], None] | None = None
) -> Iterator[tuple[int, Record]]:
    """Every record of every segment, in order, as ``(segment, record)``.

    A short or corrupt record ends the log: its segment is truncated before
    it and every later segment is deleted, with a warning naming what was
    dropped (also passed to ``on_damage``). The caller is never refused."""
    segments = list_segments(wal_dir)
    for i, seg in enumerate(segments):
        path = wal_dir / _segment_name(seg)
        data = path.read_bytes()
        pos = 0
        problem = ""
        while pos < len(data):
            if pos + _HEAD.size > len(data):
                problem = "torn record header"
                break
            length, crc = _HEAD.unpack_from(data, pos)
            end = pos + _HEAD.size + length
            if end > len(data):
                problem = f"torn record ({len(data) - pos - _HEAD.size} of {length} bytes)"
                break
            payload = data[pos + _HEAD.size : end]
            if zlib.crc32(payload) != crc:
                problem = "checksum mismatch"
                break
            try:
                record = _decode(payload)
            except (ValueError, struct.error, UnicodeDecodeError) as exc:
                problem = f"unreadable record: {exc}"
                break
            yield seg, record
            pos = end
        if problem:
            later = segments[i + 1 :]
            message = "WAL segment {}: {} at byte {} of {}; truncating it there{}".format(
                path, problem, pos, len(data), f" and deleting {len(later)} later segment(s)" if later else ""
            )
            log.warning("%s", message)
            if on_damage is not None:
                on_damage(message)
            os.truncate(path, pos)
            for n in later:
                (wal_dir / _segment_name(n)).unlink(missing_ok=True)
            return


class WriteAheadLog:
    """The writing end; every method is called under the head lock (see head.py)."""

    def __init__(self, data_dir: Path, *, segment_max_bytes: int = SEGMENT_MAX_BYTES) -> None:
        self.dir = data_dir / WAL_DIR
        try:
            self.dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create WAL directory {self.dir}: {exc}") from exc
        self._segment_max = segment_max_bytes
        existing = list_segments(self.dir)
        self.segment = (existing[-1] if existing else 0) + 1
        self._fd = -1
        self._size = 0
        #: commits refused because their record could not be written
        self.writes_failed = 0
        # Series records waiting to go out with the next commit's write().
        self._pending: list[bytes] = []
        # Series not yet in SQLite, by ref: logged again in each new segment.
        self._unpersisted: dict[int, bytes] = {}
        # Packed refs of recent column commits: a target sends the same refs
        # every scrape, and comparing a list is cheaper than packing it.
        self._packed: dict[tuple[int, int, int], tuple[list[int], bytes]] = {}
        self._open_segment()

    def _open_segment(self) -> None:
        path = self.dir / _segment_name(self.segment)
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create WAL segment {path}: {exc}") from exc
        self._size = os.fstat(self._fd).st_size

    # --- under the head lock --------------------------------------------------------------

    def log_series(self, ref: int, labels: Labels) -> None:
        """A new series: written with the next commit (nothing refers to it before)."""
        rec = encode_series(ref, labels)
        self._unpersisted[ref] = rec
        self._pending.append(rec)

    def log_samples(self, refs: list[int], ts: list[int], vs: list[float]) -> None:
        """One commit, written before its samples become visible; raises StorageError
        (with nothing of the batch left in the log) when the write fails."""
        self._log([self._record(refs, ts, vs)])

    def log_commit(self, column: tuple[list[int], int, list[float]],
                   refs: list[int], ts: list[int], vs: list[float]) -> None:
        """A commit holding a column and other samples: their records go out in
        one ``write()``, so a kill leaves both or neither (see ``log_samples``)."""
        crefs, t, cvs = column
        records = [encode_column(crefs, t, cvs, self._packed_refs(crefs))]
        if refs:
            records.append(self._record(refs, ts, vs))
        self._log(records)

    def _record(self, refs: list[int], ts: list[int], vs: list[float]) -> bytes:
        """A "C" record when every sample has the same time, else an "A" record."""
        if ts and ts[0] == ts[-1] and ts.count(ts[0]) == len(ts):
            return encode_column(refs, ts[0], vs, self._packed_refs(refs))
        return encode_samples(refs, ts, vs)

    def _log(self, records: list[bytes]) -> None:
        """One commit's records, after the series records waiting for it, in one ``write()``."""
        self._write(b"".join((*self._pending, *records)))
        self._pending = []
        if self._size >= self._segment_max:
            self._cut()

    def _packed_refs(self, refs: list[int]) -> bytes:
        key = (len(refs), refs[0], refs[-1])
        hit = self._packed.get(key)
        if hit is not None and hit[0] == refs:
            return hit[1]
        packed = array("q", refs).tobytes()
        if len(refs) >= 64:  # small batches (reports, stale markers) are cheap to pack
            if len(self._packed) >= 4096:
                self._packed.clear()
            self._packed[key] = (list(refs), packed)
        return packed

    def rotate(self, persisting: Iterable[int]) -> int:
        """Start a new segment for a flush that will write every sample logged
        so far (and the series ``persisting``); returns the segment number to
        pass to :meth:`checkpoint` once that flush is on disk."""
        self._cut()
        persisting = set(persisting)
        again = [rec for ref, rec in self._unpersisted.items() if ref not in persisting]
        if again:
            self._pending[:0] = again
        return self.segment

    def _cut(self) -> None:
        if self._pending:
            self._write(b"".join(self._pending))
            self._pending = []
        os.close(self._fd)
        self.segment += 1
        self._open_segment()

    def _write(self, data: bytes) -> None:
        start = self._size
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as exc:
            self.writes_failed += 1
            # Leave no torn record behind for the next commit to follow.
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            raise StorageError(f"cannot write the WAL in {self.dir}: {exc}") from exc
        self._size = start + len(data)

    # --- after a flush ----------------------------------------------------------------------

    def checkpoint(self, segment: int, persisted: Iterable[int]) -> None:
        """The flush that rotated to ``segment`` is in SQLite: drop older segments."""
        for ref in persisted:
            self._unpersisted.pop(ref, None)
        for n in list_segments(self.dir):
            if n >= segment:
                break
            (self.dir / _segment_name(n)).unlink(missing_ok=True)

    def forget(self, ref: int) -> None:
        """A series was deleted (retention): stop logging it again."""
        self._unpersisted.pop(ref, None)

    def close(self) -> None:
        if self._fd < 0:
            return
        if self._pending:
            self._write(b"".join(self._pending))
            self._pending = []
        os.close(self._fd)
        self._fd = -1
