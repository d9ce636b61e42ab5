"""The on-disk half of the store: one SQLite file in WAL journal mode.

Tables::

    series(id, labels)               labels as text: names and values joined by NUL (see below)
    chunks(id, series_id, mint, maxt, n)   small, scanned whole at open
    chunk_data(id, data)             encoded chunk blobs (see chunks.py)
    wal(seq, data)                   samples not yet cut into chunks, one row per flush

A series' labels are stored as ``name NUL value NUL name NUL value``, a NUL
or SOH inside a name or value escaped as SOH SOH or SOH STX. Unescaped, that
is the series' sort key (``MemSeries.sort_key``), and all rows decode
together: one join, one split and one zip for the whole table, where JSON
took a parse per series (format 1, which open migrates in one transaction).

Each flush is one transaction, so a crash leaves either the whole flush or
none of it; SQLite's own journal makes that true even under ``kill -9``.
``auto_vacuum=INCREMENTAL`` lets retention hand freed pages back to the file
system.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.errors import StorageCorruptionError, StorageError

__all__ = [
    "DB_FILE",
    "ChunkMeta",
    "Database",
    "WalBatch",
    "decode_label_texts",
    "decode_wal",
    "encode_wal",
    "fetch_chunk_blobs",
    "labels_from_text",
    "labels_to_text",
]

log = logging.getLogger(__name__)

DB_FILE = "metrics.sqlite"
_LOCK_FILE = "LOCK"
#: 1: labels as JSON; 2: labels as NUL-joined text (format 1 is migrated at open)
_FORMAT = "2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, labels TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL, mint INTEGER NOT NULL, maxt INTEGER NOT NULL, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_data(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS wal(seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""

#: (chunk id, series id, mint, maxt, number of samples)
ChunkMeta = tuple[int, int, int, int, int]
#: (series ids, sample count per series, timestamps, values), samples grouped by series
WalBatch = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
]
_WAL_HEAD = struct.Struct("<II")


def labels_from_json(text: str) -> Labels:
    """Format 1's labels (read only to migrate)."""
    return tuple((str(k), str(v)) for k, v in json.loads(text))


def _escape(field: str) -> str:
    if "\x00" in field or "\x01" in field:
        return field.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")
    return field


def _unescape(field: str) -> str:
    # Left to right, so an escape never starts inside the one before it.
    return field.replace("\x01\x01", "\x00").replace("\x01\x02", "\x01")


def labels_to_text(labels: Labels) -> str:
    return "\x00".join(_escape(f) for pair in labels for f in pair)


def labels_from_text(text: str) -> Labels:
    return decode_label_texts([text])[0]


def decode_label_texts(texts: Sequence[str]) -> list[Labels]:
    """Many stored label texts at once: the C loops of join, split and zip do
    the per-label work. Equal (name, value) pairs share one tuple."""
    if not texts:
        return []
    fields = "\x00".join(texts).split("\x00")
    if any("\x01" in t for t in texts):
        fields = [_unescape(f) if "\x01" in f else f for f in fields]
    sizes = [t.count("\x00") + 1 for t in texts]
    if any(n % 2 for n in sizes):
        bad = next(i for i, n in enumerate(sizes) if n % 2)
        raise ValueError(f"label text {texts[bad]!r} has an odd number of fields")
    it = iter(fields)
    pairs = list(zip(it, it, strict=True))
    shared: dict[tuple[str, str], tuple[str, str]] = {}
    pairs_it = iter(map(shared.setdefault, pairs, pairs))
    return [tuple(islice(pairs_it, n // 2)) for n in sizes]


def encode_wal(batch: WalBatch) -> bytes:
    sids, counts, ts, vs = batch
    body = b"".join(
        (
            _WAL_HEAD.pack(sids.size, ts.size),
            sids.astype("<i8").tobytes(),
            counts.astype("<i8").tobytes(),
            ts.astype("<i8").tobytes(),
            vs.astype("<f8").tobytes(),
        )
    )
    # Level 1: flushes happen every few seconds and the rows are short-lived.
    return zlib.compress(body, 1)


def decode_wal(blob: bytes) -> WalBatch:
    try:
        body = zlib.decompress(blob)
        m, total = _WAL_HEAD.unpack_from(body, 0)
        pos = _WAL_HEAD.size
        if len(body) != pos + 16 * m + 16 * total:
            raise StorageCorruptionError(f"WAL record has {len(body)} bytes, not the expected size")
        sids = np.frombuffer(body, "<i8", m, pos).astype(np.int64)
        counts = np.frombuffer(body, "<i8", m, pos + 8 * m).astype(np.int64)
        ts = np.frombuffer(body, "<i8", total, pos + 16 * m).astype(np.int64)
        vs = np.frombuffer(body, "<f8", total, pos + 16 * m + 8 * total).astype(np.float64)
    except (zlib.error, struct.error, ValueError) as exc:
        raise StorageCorruptionError(f"WAL record cannot be decoded: {exc}") from exc
    if int(counts.sum()) != total:
        raise StorageCorruptionError("WAL record sample counts do not add up")
    return sids, counts, ts, vs


def fetch_chunk_blobs(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, bytes]:
    """The encoded chunks among ``ids`` that are stored, by id."""
    out: dict[int, bytes] = {}
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for cid, data in conn.execute(f"SELECT id, data FROM chunk_data WHERE id IN ({marks})", part):
            out[int(cid)] = bytes(data)
    return out


def _readable(text: object) -> bool:
    return isinstance(text, str) and text.count("\x00") % 2 == 1


class Database:
    """One writer connection (flushes, retention, import) and one for reads."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.dir = Path(data_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create data directory {self.dir}: {exc}") from exc
        self.path = self.dir / DB_FILE
        self._lock_file = self._take_lock()
        conns: list[sqlite3.Connection] = []
        try:
            self._w = self._connect()
            conns.append(self._w)
            self._r = self._connect()
            conns.append(self._r)
            self._setup()
        except BaseException as exc:
            for conn in conns:
                conn.close()
            self._lock_file.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise StorageCorruptionError(f"{self.path} cannot be opened: {exc}") from exc
            raise

    def _take_lock(self) -> IO[str]:
        path = self.dir / _LOCK_FILE
        f = open(path, "a+")  # noqa: SIM115 - held open for the store's lifetime
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise StorageError(
                f"data directory {self.dir} is in use by another process (pid {holder}); "
                "stop it first (e.g. the collector while importing)"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        return f

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _setup(self) -> None:
        w = self._w
        # auto_vacuum only takes effect before the first table exists.
        w.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = w.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise StorageError(f"{self.path}: cannot switch SQLite to WAL journal mode (got {mode})")
        w.execute("PRAGMA synchronous=NORMAL")
        w.executescript(_SCHEMA)
        row = w.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if row is None:
            w.execute("INSERT INTO meta(key, value) VALUES ('format', ?)", (_FORMAT,))
        elif row[0] == "1":
            self._migrate_from_1()
        elif row[0] != _FORMAT:
            raise StorageCorruptionError(
                f"{self.path} has storage format {row[0]}, this version reads {_FORMAT}"
            )

    def _migrate_from_1(self) -> None:
        """Format 1 kept labels as JSON: rewrite every row, in one transaction
        (a crash leaves format 1, migrated again at the next open)."""
        with self.transaction() as w:
            rows = []
            for sid, text in w.execute("SELECT id, labels FROM series"):
                try:
                    rows.append((labels_to_text(labels_from_json(text)), int(sid)))
                except (ValueError, TypeError) as exc:
                    raise StorageCorruptionError(f"{self.path}: series {sid} has unreadable labels: {exc}") from exc
            w.executemany("UPDATE series SET labels=? WHERE id=?", rows)
            w.execute("UPDATE meta SET value=? WHERE key='format'", (_FORMAT,))
        log.info("%s: storage format 1 migrated to %s (%d series)", self.path, _FORMAT, len(rows))

    # --- reading everything back at open ----------------------------------------------

    def load_series(self) -> Iterator[tuple[int, Labels]]:
        sids, labels, _ = self.load_series_bulk()
        yield from zip(sids, labels, strict=True)

    def load_series_bulk(self) -> tuple[list[int], list[Labels], list[str | None]]:
        """Every series: ids, label sets and, where no escape was needed, the
        stored text, which is the series' sort key."""
        rows = self._w.execute("SELECT id, labels FROM series").fetchall()
        if not rows:
            return [], [], []
        sids, texts = (list(col) for col in zip(*rows, strict=True))
        try:
            labels = decode_label_texts(texts)
        except (ValueError, TypeError, AttributeError) as exc:
            bad = next((sid for sid, text in zip(sids, texts, strict=True) if not _readable(text)), "?")
            raise StorageCorruptionError(f"series {bad} has unreadable labels: {exc}") from exc
        keys: list[str | None] = [None if "\x01" in t else t for t in texts]
        return sids, labels, keys

    def load_chunk_meta(self) -> list[ChunkMeta]:
        cur = self._w.execute("SELECT id, series_id, mint, maxt, n FROM chunks ORDER BY series_id, mint")
        return [(int(a), int(b), int(c), int(d), int(e)) for a, b, c, d, e in cur]

    def load_wal(self) -> Iterator[tuple[int, WalBatch]]:
        for seq, blob in self._w.execute("SELECT seq, data FROM wal ORDER BY seq"):
            yield int(seq), decode_wal(blob)

    def max_wal_seq(self) -> int:
        row = self._w.execute("SELECT COALESCE(MAX(seq), 0) FROM wal").fetchone()
        return int(row[0])

    def fetch_chunks(self, ids: Sequence[int]) -> dict[int, bytes]:
        return fetch_chunk_blobs(self._r, ids)

    # --- writing ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            yield w
        except BaseException:
            w.execute("ROLLBACK")
            raise
        w.execute("COMMIT")

    @staticmethod
    def insert_series(conn: sqlite3.Connection, rows: Sequence[tuple[int, Labels]]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO series(id, labels) VALUES (?, ?)",
            [(sid, labels_to_text(labels)) for sid, labels in rows],
        )

    @staticmethod
    def insert_chunk(conn: sqlite3.Connection, sid: int, mint: int, maxt: int, n: int, data: bytes) -> int:
        cur = conn.execute(
            "INSERT INTO chunks(series_id, mint, maxt, n) VALUES (?, ?, ?, ?)", (sid, mint, maxt, n)
        )
        cid = cur.lastrowid
        assert cid is not None
        conn.execute("INSERT INTO chunk_data(id, data) VALUES (?, ?)", (cid, data))
        return int(cid)

    @staticmethod
    def delete_chunks(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        conn.executemany("DELETE FROM chunks WHERE id=?", [(i,) for i in ids])
        conn.executemany("DELETE FROM chunk_data WHERE id=?", [(i,) for i in ids])

    @staticmethod
    def delete_series(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        conn.executemany("DELETE FROM series WHERE id=?", [(i,) for i in ids])

    def shrink(self) -> None:
        """Give free pages back to the file system and fold the journal in."""
        # Through execute() the pragma frees a single page (the module steps it
        # once); executescript runs it to completion.
        self._w.executescript("PRAGMA incremental_vacuum;")
        self._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def backup_to(self, dest: sqlite3.Connection) -> None:
        """A consistent copy of the whole file into ``dest`` (SQLite's online backup)."""
        self._w.backup(dest)

    def chunk_sizes_oldest_first(self) -> list[tuple[int, int, int]]:
        """(chunk id, series id, bytes) of every chunk, the oldest data first."""
        cur = self._w.execute(
            "SELECT c.id, c.series_id, length(d.data) FROM chunks c JOIN chunk_data d ON d.id = c.id "
            "ORDER BY c.maxt, c.id"
        )
        return [(int(a), int(b), int(c)) for a, b, c in cur]

    def integrity_ok(self) -> bool:
        row = self._w.execute("PRAGMA integrity_check").fetchone()
        return bool(row and row[0] == "ok")

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def close(self) -> None:
        try:
            self._r.close()
            self._w.close()
        finally:
            self._lock_file.close()
