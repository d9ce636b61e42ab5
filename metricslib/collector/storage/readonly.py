"""Chunks read by another process: a read-only connection to a running store's file.

The store keeps SQLite in WAL journal mode, in which readers in other processes
see every committed transaction without blocking the writer or being blocked by
it. A query process opens the file read-only (it never takes the store's
directory lock, so it can run beside the collector that holds it) and decodes
the chunks a select plan names through a :class:`ChunkReader` with a cache of
its own.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from metricslib.collector.storage.cache import ChunkCache
from metricslib.collector.storage.chunk_reader import ChunkReader
from metricslib.collector.storage.sqlite import DB_FILE, fetch_chunk_blobs
from metricslib.errors import StorageError

__all__ = ["ReadOnlyChunks", "open_chunk_reader"]


class ReadOnlyChunks:
    """``fetch_chunks`` over a read-only connection to ``data_dir``'s database."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = Path(data_dir) / DB_FILE
        if not self.path.exists():
            raise StorageError(f"{self.path} does not exist: open the store first")
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        try:
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path} cannot be opened for reading: {exc}") from exc

    def fetch_chunks(self, ids: Sequence[int]) -> dict[int, bytes]:
        return fetch_chunk_blobs(self._conn, ids)

    def close(self) -> None:
        self._conn.close()


def open_chunk_reader(data_dir: str | os.PathLike[str], cache_samples: int = 4_000_000) -> ChunkReader:
    """A chunk reader over a read-only connection, with a cache of ``cache_samples`` samples."""
    return ChunkReader(ReadOnlyChunks(data_dir), ChunkCache(cache_samples))
