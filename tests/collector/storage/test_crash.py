"""kill -9 in the middle of ingestion loses no committed sample (the write-ahead log).

The child prints each commit's time after ``commit()`` returns, so every
printed time must survive; the one commit a kill can land between
``commit()`` and the print may survive too (it was committed), and nothing
else may appear. In "column" mode each commit is the scrape loop's bulk
shape: one ``append_column`` of kept ``ColumnRefs`` plus a sample by labels,
logged as two records in one write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.sqlite import DB_FILE

FLUSH_S = 1.0
SERIES = 150

CHILD = r"""
import sys, time
from metricslib.collector.storage import open_storage
data_dir, flush_s, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
# Small chunks and windows so cutting, WAL trimming and window merges all
# happen during the few seconds this runs.
store = open_storage(data_dir, flush_interval_s=flush_s, head_chunk_samples=25,
                     chunk_range_ms=1500)
labels = [(("__name__", "crash_test"), ("i", str(i))) for i in range(SERIES)]
# After a previous kill, carry on where the surviving data ends.
from metricslib.collector.model import Matcher
kept = store.querier().select([Matcher("i", "=", "0")], 0, 2**62)
i = len(kept[0]) if kept else 0
last = int(kept[0].timestamps[-1]) if kept else 0
from metricslib.collector.storage.columns import ColumnRefs
refs = ColumnRefs([store.series_ref(lab) for lab in labels[:-1]])
while True:
    t = max(int(time.time() * 1000), last + 1)
    app = store.appender()
    if mode == "column":
        app.append_column(refs, t, [float(i)] * len(refs))
        app.append(labels[-1], t, float(i))
    else:
        for lab in labels:
            app.append(lab, t, float(i))
    app.commit()
    print(t, flush=True)
    last = t
    i += 1
    time.sleep(0.003)
""".replace("SERIES", str(SERIES))


def _ingest_then_kill(data_dir: Path, run_s: float, mode: str = "samples") -> list[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(FLUSH_S), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # ingestion has started
        assert first, proc.stderr.read().decode() if proc.stderr else "child died"
        time.sleep(run_s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return [int(x) for x in (first + rest).split()]


def _check(data_dir: Path, committed: list[int]) -> None:
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert len(committed) > 50, "the child ingested too little to test anything"
    store = open_storage(data_dir, background=False)
    try:
        got = store.querier().select([Matcher("__name__", "=", "crash_test")], 0, 2**62)
        assert len(got) == SERIES
        for s in got:
            # Every reported commit, in order, no gaps, no duplicates; at most the
            # one unreported commit after them.
            assert np.array_equal(s.timestamps[: len(committed)], np.array(committed))
            assert len(committed) <= len(s) <= len(committed) + 1
            assert np.array_equal(s.values, np.arange(len(s), dtype=np.float64))
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["samples", "column"])
def test_sigkill_mid_ingestion_loses_no_committed_sample(tmp_path: Path, mode: str) -> None:
    committed = _ingest_then_kill(tmp_path, run_s=3.5, mode=mode)
    _check(tmp_path, committed)


def _survivors(data_dir: Path) -> list[int]:
    store = open_storage(data_dir, background=False)
    try:
        kept = store.querier().select([Matcher("i", "=", "0")], 0, 2**62)
        return [int(t) for t in kept[0].timestamps] if kept else []
    finally:
        store.close()


def test_store_survives_repeated_kills(tmp_path: Path) -> None:
    # The second run replays what the first left behind (WAL rows included)
    # and is killed in turn; the result is still one gapless history.
    first = _ingest_then_kill(tmp_path, run_s=2.0)
    survivors = _survivors(tmp_path)
    assert survivors[: len(first)] == first and len(survivors) <= len(first) + 1
    second = _ingest_then_kill(tmp_path, run_s=2.0)
    assert second[0] > survivors[-1]
    _check(tmp_path, survivors + second)
