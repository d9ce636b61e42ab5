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
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.collector.storage.head import Head
from metricslib.collector.storage.memseries import MemSeries
from metricslib.collector.storage.wal import (
    ColumnRecord,
    SeriesRecord,
    list_segments,
    read_segments,
)

__all__ = ["ReplayStatus", "drop_from_groups", "group_bounds", "newer_than_before", "replay_wal"]

T = TypeVar("T")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

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
    (not in SQLite yet, so the log must keep naming them).

    Sample records are gathered and applied in batches of about
    ``_BATCH_SAMPLES``: each batch is regrouped by series with one stable sort
    and appended a series at a time, so the Python work is per series, not
    per sample (six scrapes of 200k series are 1.2M samples). The result is
    the one record-by-record replay gives: within a series the log order is
    kept, a sample not newer than everything before it is dropped, and a
    sample whose series record comes later in the log (or never) is counted
    as unknown."""
    start = time.monotonic()
    segments = list_segments(wal_dir)
    if not segments:
        return []
    status.min, status.max, status.current = segments[0], segments[-1], segments[0]
    created: list[tuple[int, Labels]] = []
    batch = _Batch()

    def damaged(message: str) -> None:
        status.corruptions += 1

    for seg, record in read_segments(wal_dir, damaged):
        if seg != status.current:
            log.info("WAL segment loaded: segment=%d maxSegment=%d", status.current, status.max)
            status.current = seg
        batch.position += 1
        if isinstance(record, SeriesRecord):
            if record.ref in head.by_id:
                continue
            same = head.by_labels.get(record.labels)
            if same is not None:  # cannot happen unless ids were reused; keep the samples anyway
                batch.alias.setdefault(record.ref, (same.sid, batch.position))
                continue
            new = MemSeries(record.ref, record.labels)
            head.register(new)
            head.next_id = max(head.next_id, record.ref + 1)
            batch.born[record.ref] = batch.position
            created.append((record.ref, record.labels))
            status.series += 1
            continue
        n = int(record.refs.size)
        batch.refs.append(record.refs)
        batch.ts.append(np.full(n, record.t, dtype=np.int64) if isinstance(record, ColumnRecord) else record.ts)
        batch.vs.append(record.vs)
        batch.positions.append(np.full(n, batch.position, dtype=np.int64))
        batch.size += n
        if batch.size >= _BATCH_SAMPLES:
            _apply(head, batch, status)
    _apply(head, batch, status)
    status.current = status.max
    status.seconds = time.monotonic() - start
    log.info("WAL segment loaded: segment=%d maxSegment=%d", status.current, status.max)
    if status.unknown_series_samples:
        log.warning("WAL replay: %d samples name a series the log and the database do not know; dropped",
                    status.unknown_series_samples)
    log.info("WAL replay completed: %d samples of %d series (%d new) from segments %d-%d in %.3fs",
             status.samples, len(head.dirty), status.series, status.min, status.max, status.seconds)
    return created


#: samples gathered before a batch is applied (bounds the replay's extra memory, ~40 bytes a sample)
_BATCH_SAMPLES = 4_000_000


class _Batch:
    """Sample records read since the last apply, and what the series records said."""

    def __init__(self) -> None:
        #: records read so far: a sample is known only after its series record
        self.position = 0
        #: series created by the replay: ref -> position of its series record
        self.born: dict[int, int] = {}
        #: refs logged with labels another series already has: ref -> (that series, position)
        self.alias: dict[int, tuple[int, int]] = {}
        self.refs: list[I64] = []
        self.ts: list[I64] = []
        self.vs: list[F64] = []
        self.positions: list[I64] = []
        self.size = 0


def _apply(head: Head, batch: _Batch, status: ReplayStatus) -> None:
    if not batch.size:
        return
    refs = np.concatenate(batch.refs)
    ts = np.concatenate(batch.ts)
    vs = np.concatenate(batch.vs)
    pos = np.concatenate(batch.positions)
    batch.refs, batch.ts, batch.vs, batch.positions, batch.size = [], [], [], [], 0
    known = np.ones(refs.size, dtype=bool)
    for ref, (sid, at) in batch.alias.items():
        hit = refs == ref
        known[hit & (pos < at)] = False
        refs[hit] = sid
    order = np.argsort(refs, kind="stable")  # log order within each series
    refs, ts, vs, pos, known = refs[order], ts[order], vs[order], pos[order], known[order]
    starts, ends = group_bounds(refs)
    by_id = head.by_id
    owners = [by_id.get(ref) for ref in refs[starts].tolist()]
    born = np.array([batch.born.get(ref, 0) if s is not None else 2**62
                     for ref, s in zip(refs[starts].tolist(), owners, strict=True)], dtype=np.int64)
    known &= pos >= np.repeat(born, ends - starts)
    status.unknown_series_samples += int(refs.size - np.count_nonzero(known))
    if not known.all():
        ts, vs = ts[known], vs[known]
        owners, starts, ends = drop_from_groups(known, starts, owners)
    present = [s for s in owners if s is not None]
    keep = newer_than_before(ts, starts, ends, [s.last_t for s in present])
    if not keep.all():
        ts, vs = ts[keep], vs[keep]
        present, starts, ends = drop_from_groups(keep, starts, present)
    if not present:
        return
    t_bytes = np.ascontiguousarray(ts).data.cast("B")
    v_bytes = np.ascontiguousarray(vs).data.cast("B")
    last_ts = ts[ends - 1].tolist()
    for s, a, b, last_t, last_v in zip(present, starts.tolist(), ends.tolist(), last_ts, vs[ends - 1].tolist(),
                                       strict=True):
        s.ts.frombytes(t_bytes[8 * a : 8 * b])
        s.vs.frombytes(v_bytes[8 * a : 8 * b])
        s.last_t = last_t
        s.last_v = last_v
    head.dirty.update(present)
    status.samples += int(ts.size)
    head.max_t = max(head.max_t, max(last_ts))


def group_bounds(keys: I64) -> tuple[I64, I64]:
    """Start and end offsets of the runs of equal values in sorted ``keys`` (not empty)."""
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return starts, np.append(starts[1:], keys.size)


def drop_from_groups(keep: npt.NDArray[np.bool_], starts: I64, owners: list[T]) -> tuple[list[T], I64, I64]:
    """The groups (``owners[i]`` owns ``starts[i]`` onwards) once the samples
    ``keep`` refuses are gone: the owners left with samples, and their new bounds."""
    kept = np.add.reduceat(keep.astype(np.int64), starts)
    left = [owner for owner, k in zip(owners, kept.tolist(), strict=True) if k]
    kept = kept[kept > 0]
    ends = np.cumsum(kept)
    return left, ends - kept, ends


def newer_than_before(ts: I64, starts: I64, ends: I64, newest: list[int]) -> npt.NDArray[np.bool_]:
    """Which samples a commit would take: each group's samples in log order, a
    sample kept when newer than its series' ``newest`` and every sample before
    it in the group (a dropped sample is never newer, so it changes nothing)."""
    keep: npt.NDArray[np.bool_] = ts > np.repeat(np.array(newest, dtype=np.int64), ends - starts)
    # Times increase within a series' log order, except after a clock step,
    # a race between two appenders or in a hand-made file: those groups one by one.
    backwards = np.flatnonzero(ts[1:] <= ts[:-1]) + 1
    if backwards.size:
        inner = backwards[np.isin(backwards, starts, invert=True)]
        for g in np.unique(np.searchsorted(starts, inner, side="right") - 1).tolist():
            last = newest[g]
            for j in range(int(starts[g]), int(ends[g])):
                t = int(ts[j])
                keep[j] = t > last
                last = max(last, t)
    return keep
