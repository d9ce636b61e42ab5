"""Reading live workers, and folding dead ones into the run's archive.

Everything here runs in the worker serving a scrape (or in gunicorn's master
for ``child_exit``), under the run's lock where it says so.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

from ..errors import MultiprocessError
from .files import WorkerFile, atomic_write
from .merge import FamilyData, Snapshot, dumps_families, fold_into_archive, loads_families
from .worker import fetch_snapshot

__all__ = ["ARCHIVE", "archive_dead", "load_archive", "read_live"]

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
            "metricslib: worker %d did not answer (%s); using %s", wf.process.pid, exc, wf.path
        )
        try:
            data = wf.path.read_bytes()
        except FileNotFoundError:
            return None
        source = str(wf.path)
    families, _ = loads_families(data, source)
    return Snapshot(wf.process.pid, families)


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
            with contextlib.suppress(FileNotFoundError):
                wf.path.unlink()
            continue
        try:
            families, _ = loads_families(wf.path.read_bytes(), str(wf.path))
        except FileNotFoundError:
            continue
        except MultiprocessError as exc:
            log.error("metricslib: dropping unreadable worker file: %s", exc)
            wf.path.unlink()
            continue
        todo.append((wf, families))
    if me is not None and final is not None:
        todo.append((me, final))
    if not todo:
        return archive
    for _, families in todo:
        archive = fold_into_archive(archive, families, modes)
    keep = [name for name in merged if (gen_dir / name).exists()]
    keep += [wf.path.name for wf, _ in todo]
    atomic_write(gen_dir / ARCHIVE, dumps_families(archive, merged=keep))
    for wf, _ in todo:
        with contextlib.suppress(FileNotFoundError):
            wf.path.unlink()
    return archive
