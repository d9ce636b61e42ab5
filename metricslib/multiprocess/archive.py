"""Reading live workers, and folding dead ones into the run's archive.

Everything here runs in the worker serving a scrape (or in gunicorn's master
for ``child_exit``), under the run's lock where it says so. A worker that
cannot answer (dead, or stopped) is read from its files: its value file gives
every instrument value exactly, its last snapshot the rest.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

from ..errors import MultiprocessError
from .files import WorkerFile, atomic_write
from .merge import FamilyData, Snapshot, dumps_families, fold_into_archive, loads_families
from .values import overlay, read_values
from .worker import fetch_snapshot

__all__ = ["ARCHIVE", "archive_dead", "load_archive", "read_live", "stored_families"]

log = logging.getLogger("metricslib.multiprocess")

ARCHIVE = "archive.snap"


def read_live(gen_dir: Path, wf: WorkerFile, timeout: float) -> Snapshot | None:
    """A live worker's snapshot, asked over its socket, else read from its file."""
    try:
        data = fetch_snapshot(gen_dir, wf.process, timeout)
        source = f"worker {wf.process.pid}"
    except OSError as exc:
        # Alive but not answering (busy, or still starting): its last file is
        # at most snapshot_interval old.
        log.warning(
            "metricslib: worker %d did not answer (%s); reading its files", wf.process.pid, exc
        )
        stored = stored_families(wf)
        return None if stored is None else Snapshot(wf.process.pid, stored)
    families, _ = loads_families(data, source)
    return Snapshot(wf.process.pid, families)


def stored_families(wf: WorkerFile) -> list[FamilyData] | None:
    """What a worker's files say: its snapshot, with the value file's families exact.

    None when it has neither file. An unreadable file is logged and skipped.
    """
    snapshot: list[FamilyData] | None = None
    values: list[FamilyData] | None = None
    try:
        snapshot, _ = loads_families(wf.path.read_bytes(), str(wf.path))
    except FileNotFoundError:
        pass
    except MultiprocessError as exc:
        log.error("metricslib: dropping unreadable worker file: %s", exc)
    try:
        values = read_values(wf.values.read_bytes(), str(wf.values))
    except FileNotFoundError:
        pass
    except MultiprocessError as exc:
        log.error("metricslib: dropping unreadable value file: %s", exc)
    if snapshot is None and values is None:
        return None
    return overlay(snapshot or [], values or [])


def _remove(wf: WorkerFile) -> None:
    for path in (wf.path, wf.values):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def load_archive(gen_dir: Path) -> tuple[list[FamilyData], list[str]]:
    path = gen_dir / ARCHIVE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    families, extra = loads_families(data, str(path))
    return families, [str(x) for x in extra.get("merged", [])]


def archive_dead(
    gen_dir: Path,
    dead: Iterable[WorkerFile],
    modes: dict[str, str],
    final: list[FamilyData] | None = None,
    me: WorkerFile | None = None,
) -> list[FamilyData]:
    """Fold dead workers' last snapshots into the archive, then delete their files.

    Must run under ``locked(gen_dir)``. The archive lists the files it already
    holds, so a crash between writing it and deleting a file never counts twice.
    """
    archive, merged = load_archive(gen_dir)
    todo: list[tuple[WorkerFile, list[FamilyData]]] = []
    for wf in dead:
        ident = wf.path.name
        if ident in merged:
            _remove(wf)
            continue
        families = stored_families(wf)
        if families is None:
            _remove(wf)
            continue
        todo.append((wf, families))
    if me is not None and final is not None:
        todo.append((me, final))
    if not todo:
        return archive
    for _, families in todo:
        archive = fold_into_archive(archive, families, modes)
    keep = [
        name
        for name in merged
        if (gen_dir / name).exists() or (gen_dir / name).with_suffix(".mm").exists()
    ]
    keep += [wf.path.name for wf, _ in todo]
    atomic_write(gen_dir / ARCHIVE, dumps_families(archive, merged=keep))
    for wf, _ in todo:
        _remove(wf)
    return archive
