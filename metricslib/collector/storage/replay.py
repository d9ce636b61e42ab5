"""Replaying the write-ahead log into the head at open, with progress to show.

Runs after the head was rebuilt from SQLite (the checkpoint). Samples the
checkpoint already holds are skipped by the same rule a commit applies (not
newer than the series' newest), so a segment that outlived its checkpoint
(a kill between the flush and the deletion) replays harmlessly. Replayed
samples are left unflushed, so the first flush writes them to SQLite.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from metricslib.collector.model import Labels
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.wal import (
    ColumnRecord,
    SeriesRecord,
    list_segments,
    read_segments,
)

__all__ = ["ReplayStatus", "replay_wal"]

log = logging.getLogger(__name__)


@dataclass
class ReplayStatus:
    """Segments replayed: first, last, and the one being read (Prometheus's walreplay shape)."""

    min: int = 0
    max: int = 0
    current: int = 0
    samples: int = 0
    series: int = 0
    #: samples whose series record was lost (e.g. to a truncated tail)
    unknown_series_samples: int = 0
    #: damaged tails repaired (truncated) while reading
    corruptions: int = 0
    seconds: float = 0.0

    def as_api(self) -> dict[str, int]:
        return {"min": self.min, "max": self.max, "current": self.current}


def replay_wal(head: Head, wal_dir: Path, status: ReplayStatus) -> list[tuple[int, Labels]]:
    """Apply every logged commit to ``head``; returns the series it created
    (not in SQLite yet, so the log must keep naming them)."""
    start = time.monotonic()
    segments = list_segments(wal_dir)
    if not segments:
        return []
    status.min, status.max, status.current = segments[0], segments[-1], segments[0]
    created: list[tuple[int, Labels]] = []
    alias: dict[int, MemSeries] = {}
    by_id = head.by_id
    dirty = head.dirty
    def damaged(message: str) -> None:
        status.corruptions += 1

    for seg, record in read_segments(wal_dir, damaged):
        if seg != status.current:
            log.info("WAL segment loaded: segment=%d maxSegment=%d", status.current, status.max)
            status.current = seg
        if isinstance(record, SeriesRecord):
            known = by_id.get(record.ref)
            if known is not None:
                continue
            same = head.by_labels.get(record.labels)
            if same is not None:  # cannot happen unless ids were reused; keep the samples anyway
                alias[record.ref] = same
                continue
            new = MemSeries(record.ref, record.labels)
            head.register(new)
            head.next_id = max(head.next_id, record.ref + 1)
            created.append((record.ref, record.labels))
            status.series += 1
            continue
        refs = record.refs.tolist()
        vs = record.vs.tolist()
        ts = [record.t] * len(refs) if isinstance(record, ColumnRecord) else record.ts.tolist()
        max_t = head.max_t
        for ref, t, v in zip(refs, ts, vs, strict=True):
            s: MemSeries | None = by_id.get(ref) or alias.get(ref)
            if s is None:
                status.unknown_series_samples += 1
                continue
            if t <= s.last_t:
                continue
            s.ts.append(t)
            s.vs.append(v)
            s.last_t = t
            s.last_v = v
            dirty.add(s)
            status.samples += 1
            if t > max_t:
                max_t = t
        head.max_t = max_t
    status.current = status.max
    status.seconds = time.monotonic() - start
    log.info("WAL segment loaded: segment=%d maxSegment=%d", status.current, status.max)
    if status.unknown_series_samples:
        log.warning("WAL replay: %d samples name a series the log and the database do not know; dropped",
                    status.unknown_series_samples)
    log.info("WAL replay completed: %d samples of %d series (%d new) from segments %d-%d in %.3fs",
             status.samples, len(dirty), status.series, status.min, status.max, status.seconds)
    return created
