"""``metricslib import``: backfill an OpenMetrics or text file into the store.

All or nothing: the whole file is read and checked first, and only a file
without a single bad line is written (in one transaction). Every sample line
is checked for syntax (series names, labels, values, timestamps) with the
exposition parser's rules; family-level rules (bucket order, counts adding
up) are left to ``metricslib check metrics``, as ``promtool`` does for its
backfill.

Rules for the data:

* every sample needs a timestamp (OpenMetrics: seconds, text: milliseconds);
* samples of one series must be in increasing time order in the file; the
  same timestamp twice with the same value is accepted once, with another
  value it is an error;
* series may come in any order and may overlap what the store already
  holds: at a timestamp present in both, the stored sample is kept, so
  importing the same file twice changes nothing.

Reading and checking the file is backfill.py; this module writes the
result and is the command line face (progress bar, summary, exit status).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from metricslib.collector.model import Labels
from metricslib.collector.storage import backfill
from metricslib.collector.storage.backfill import read_file_parallel, read_samples
from metricslib.errors import ParseError, StorageError

__all__ = ["ImportResult", "import_cli", "import_file", "read_samples"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class ImportResult:
    samples: int
    series: int
    new_series: int
    duplicates: int
    min_t: int
    max_t: int
    seconds: float


def import_file(
    data_dir: str | Path,
    path: str | Path,
    fmt: str | None = None,
    *,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Check the whole file, then write it into the store in one transaction.

    ``on_progress(phase, done, total)`` is called with phase "read" (bytes)
    and "write" (series). Raises ParseError for bad input (nothing written),
    StorageError when the store cannot be opened or written."""
    from metricslib.collector.storage import open_storage
    from metricslib.collector.textparse.formats import detect_format

    started = time.monotonic()
    path = Path(path)
    size = path.stat().st_size
    report = on_progress or (lambda phase, done, total: None)
    if fmt is None:
        with path.open("rb") as raw:
            raw.seek(max(0, size - 64))
            tail = raw.read().decode("utf-8", "replace")
            raw.seek(0)
            head = raw.read(1 << 16).decode("utf-8", "replace")
        fmt = "openmetrics" if tail.rstrip("\n").endswith("# EOF") else detect_format(head)
    workers = backfill.spare_cpus()
    if workers > 1 and size >= backfill.PARALLEL_BYTES:
        series, duplicates = read_file_parallel(path, fmt, workers, lambda n: report("read", n, size))
    else:
        with path.open("r", encoding="utf-8", newline="\n") as f:
            series, duplicates = read_samples(f, fmt, lambda n: report("read", n, size))
    # Imports must never apply the collector's retention to what is already stored.
    store = open_storage(data_dir, retention_ms=2**62, background=False)
    try:
        before = set(store.head.by_labels)
        new = sum(1 for lab, _, _ in series if lab not in before)
        total = sum(int(t.size) for _, t, _ in series)

        def items() -> Iterator[tuple[Labels, I64, F64]]:
            for i, item in enumerate(series):
                if i % 100 == 0:
                    report("write", i, len(series))
                yield item
            report("write", len(series), len(series))

        store.import_series(items())
    finally:
        store.close()
    min_t = min((int(t[0]) for _, t, _ in series), default=0)
    max_t = max((int(t[-1]) for _, t, _ in series), default=0)
    return ImportResult(
        samples=total,
        series=len(series),
        new_series=new,
        duplicates=duplicates,
        min_t=min_t,
        max_t=max_t,
        seconds=time.monotonic() - started,
    )


class _Bar:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        frac = done / total if total else 1.0
        width = 30
        filled = int(frac * width)
        unit = (
            f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
            if phase == "read"
            else f"{done}/{total} series"
        )
        label = "reading" if phase == "read" else "writing"
        self.stream.write(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {frac:6.1%} {unit}   "
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def import_cli(data_dir: str, file: str, fmt: str | None, progress: bool | None = None) -> int:
    """Back ``metricslib import``: 0 on success, 1 for bad input, 2 when it cannot run.

    The bar is drawn on stderr when ``progress`` is True, never when False, and
    when stderr is a terminal if None; the summary line is always printed."""
    draw = sys.stderr.isatty() if progress is None else progress
    bar = _Bar(sys.stderr) if draw else None
    try:
        result = import_file(data_dir, file, fmt, on_progress=bar)
    except ParseError as exc:
        if bar:
            bar.finish()
        message = str(exc)
        prefix = f"line {exc.line}: "
        message = message[len(prefix) :] if message.startswith(prefix) else message
        print(f"{file}:{exc.line}: {message}", file=sys.stderr)
        print(f"{file}: nothing imported", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        if bar:
            bar.finish()
        print(
            f"{file}: not valid UTF-8 ({exc.reason} at byte {exc.start} of a block)",
            file=sys.stderr,
        )
        return 1
    except (OSError, StorageError) as exc:
        if bar:
            bar.finish()
        print(f"{file}: cannot import: {exc}", file=sys.stderr)
        return 2
    if bar:
        bar.finish()
    rate = result.samples / result.seconds if result.seconds > 0 else 0.0
    span = ""
    if result.samples:
        span = f", {_iso(result.min_t)} to {_iso(result.max_t)}"
    print(
        f"imported {result.samples} samples of {result.series} series "
        f"({result.new_series} new) into {data_dir} in {result.seconds:.1f}s "
        f"({rate:,.0f} samples/s){span}"
    )
    if result.samples and result.min_t < time.time() * 1000 - 15 * _DAY_MS:
        print(
            "note: some samples are older than 15 days, the collector's default retention; "
            "start it with a longer --retention to keep them",
            file=sys.stderr,
        )
    return 0


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
