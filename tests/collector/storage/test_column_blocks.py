"""The head's column blocks (``columns.ColumnBlock``): whatever the interleaving of
column commits, other writes, flushes (cutting, failing, stopped), crashes and
restarts, the store answers selects exactly as a plain per-series model does.

The model keeps each series' samples in a list and applies the store's rules
sample by sample: a sample newer than the series' newest is kept, one at the
same time with the same bits is a duplicate, anything else is refused."""

from __future__ import annotations

import shutil
import struct
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metricslib.collector.storage.flush as fl
from metricslib.collector.model import STALE_NAN, Matcher
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.columns import ColumnRefs
from metricslib.collector.storage.wal import WAL_DIR
from metricslib.errors import OutOfOrderSampleError

FOREVER = 10**15
N = 6
LABELS = [(("__name__", "m"), ("i", str(i))) for i in range(N)]
#: two targets sharing series 2 and 3 (two appenders racing on them)
COLUMNS = ([0, 1, 2, 3], [2, 3, 4, 5])
VALUES = st.sampled_from([0.0, 1.0, 2.5, -0.0, float("nan"), STALE_NAN])

Model = dict[int, list[tuple[int, bytes]]]


def _bits(v: float) -> bytes:
    return struct.pack("<d", v)


def _open(path: Path) -> Store:
    # Small chunks and windows, so cuts and window boundaries happen within a few steps.
    return open_storage(path, background=False, retention_ms=FOREVER, head_chunk_samples=3,
                        chunk_range_ms=8_000)


def _crash(store: Store) -> None:
    """As a kill leaves it: no flush, no close."""
    if store.wal is not None:
        store.wal.close()
    store.db.close()
    store.head.closed = True


def _apply(model: Model, i: int, t: int, v: float) -> None:
    samples = model[i]
    if not samples or t > samples[-1][0]:
        samples.append((t, _bits(v)))


def _dump(store: Store, mint: int = 0, maxt: int = 2**62) -> Model:
    got: Model = {i: [] for i in range(N)}
    for s in store.querier().select([Matcher("__name__", "=", "m")], mint, maxt):
        got[int(dict(s.labels)["i"])] = [(int(t), _bits(v)) for t, v in zip(s.timestamps, s.values, strict=True)]
    return got


def _in(model: Model, mint: int, maxt: int) -> Model:
    return {i: [(t, v) for t, v in samples if mint <= t <= maxt] for i, samples in model.items()}


OPS = st.one_of(
    st.tuples(st.just("column"), st.integers(0, 1), st.integers(0, 3), st.lists(VALUES, min_size=4, max_size=4)),
    st.tuples(st.just("sample"), st.integers(0, N - 1), st.integers(0, 3), VALUES),
    st.tuples(st.just("flush"), st.booleans(), st.sampled_from([None, 1, 4])),
    st.tuples(st.just("failed flush"), st.booleans()),
    st.tuples(st.just("select"), st.integers(0, 40), st.integers(0, 12)),
    st.tuples(st.just("crash")),
    st.tuples(st.just("flush, then lose the log")),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(OPS, min_size=1, max_size=40))
def test_any_interleaving_selects_what_a_per_series_model_holds(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[object, ...]]
) -> None:
    path = tmp_path_factory.mktemp("blocks")
    store = _open(path)
    refs = [store.series_ref(lab) for lab in LABELS]
    app = store.appender()
    for ref in refs:  # every series exists on disk from the start
        app.append_ref(ref, 0, 0.0)
    app.commit()
    store.flush()
    model: Model = {i: [(0, _bits(0.0))] for i in range(N)}
    columns = [ColumnRefs([refs[i] for i in c]) for c in COLUMNS]
    step = 0
    try:
        for op in ops:
            step += 1
            kind = op[0]
            if kind == "column":
                _, which, jitter, values = op
                t = 1000 * step - 700 * int(jitter)  # may repeat or go back
                app = store.appender()
                app.append_column(columns[which], t, values)  # type: ignore[index]
                app.commit()
                for i, v in zip(COLUMNS[which], values, strict=True):  # type: ignore[index,call-overload]
                    _apply(model, i, t, v)
            elif kind == "sample":
                _, i, jitter, v = op
                t = 1000 * step - 700 * int(jitter)  # type: ignore[call-overload]
                app = store.appender()
                try:
                    app.append_ref(refs[i], t, v)  # type: ignore[index,arg-type]
                except OutOfOrderSampleError:
                    pass
                app.commit()
                _apply(model, i, t, v)  # type: ignore[arg-type]
            elif kind == "flush":
                fl.flush(store.head, store.db, head_chunk_samples=3, cut_all=bool(op[1]), wal=store.wal,
                         max_cuts=op[2])  # type: ignore[arg-type]
            elif kind == "failed flush":
                if op[1]:  # the transaction fails: nothing written, everything retried later
                    real = fl.encode_wal

                    def failing(batch: object) -> bytes:
                        raise OSError("disk full")

                    fl.encode_wal = failing  # type: ignore[assignment]
                    try:
                        store.flush()  # raises unless there was nothing to write
                    except OSError as exc:
                        assert str(exc) == "disk full"
                    finally:
                        fl.encode_wal = real
                else:  # stopped while planning (a close)
                    stop = threading.Event()
                    stop.set()
                    try:
                        fl.flush(store.head, store.db, head_chunk_samples=3, wal=store.wal, stop=stop)
                    except fl.FlushAborted:
                        pass
            elif kind == "select":
                mint = 1000 * int(op[1])  # type: ignore[call-overload]
                maxt = mint + 1000 * int(op[2])  # type: ignore[call-overload]
                assert _dump(store, mint, maxt) == _in(model, mint, maxt)
            else:
                if kind == "flush, then lose the log":
                    # Everything committed before a flush is in its checkpoint.
                    store.flush()
                    _crash(store)
                    shutil.rmtree(path / WAL_DIR)
                else:
                    _crash(store)
                store = _open(path)
                columns = [ColumnRefs([refs[i] for i in c]) for c in COLUMNS]
            assert store.stats().samples == sum(map(len, model.values()))
        assert _dump(store) == model
        _crash(store)
        store = _open(path)
        assert _dump(store) == model
    finally:
        store.close()


def test_a_steady_column_touches_no_series_until_the_cut(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER, head_chunk_samples=4)
    refs = ColumnRefs([store.series_ref(lab) for lab in LABELS])
    series = [store.head.by_id[r] for r in refs]
    for k in range(1, 4):
        app = store.appender()
        app.append_column(refs, 1000 * k, [float(k)] * N)
        app.commit()
        store.flush()
    block = refs.block
    assert block is not None and block.intact
    # Three rows, all in the checkpoint, none in the series' own buffers.
    assert (len(block.times), block.flushed) == (3, 3)
    assert all(len(s.ts) == 0 and s.block is block for s in series)
    app = store.appender()
    app.append_column(refs, 4000, [4.0] * N)
    app.commit()
    store.flush()  # the fourth flushed row: cut
    assert len(block.times) == 0 and all(len(s.c_ids) == 1 and len(s.ts) == 0 for s in series)
    assert all(s.block is block for s in series)  # still its: the next commit appends a row
    assert _dump(store)[0] == [(1000 * k, _bits(float(k))) for k in range(1, 5)]
    store.close()


def test_another_writer_takes_a_series_out_of_the_block(tmp_path: Path) -> None:
    store = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    refs = ColumnRefs([store.series_ref(lab) for lab in LABELS])
    app = store.appender()
    app.append_column(refs, 1000, [1.0] * N)
    app.commit()
    app = store.appender()
    app.append_ref(refs[0], 1500, 7.0)
    app.commit()
    block = refs.block
    assert block is not None and not block.intact and len(block.times) == 0  # the rows went to the series
    assert store.head.by_id[refs[0]].block is None
    app = store.appender()
    app.append_column(refs, 2000, [2.0] * N)  # claims every series again
    app.commit()
    assert block.intact and len(block.times) == 1 and app.refused == []
    assert _dump(store)[0] == [(1000, _bits(1.0)), (1500, _bits(7.0)), (2000, _bits(2.0))]
    store.close()


def test_selects_racing_commits_and_flushes_see_whole_ordered_series(tmp_path: Path) -> None:
    """Threads: two targets commit columns (sharing two series), another writer appends
    by ref, the flush thread cuts; every select sees each series strictly ordered and
    never fewer samples than the previous select, and the end state is the model's."""
    store = open_storage(tmp_path, retention_ms=FOREVER, head_chunk_samples=5, flush_interval_s=0.01,
                         chunk_range_ms=40_000)
    refs = [store.series_ref(lab) for lab in LABELS]
    columns = [ColumnRefs([refs[i] for i in c]) for c in COLUMNS]
    errors: list[BaseException] = []
    done = threading.Event()

    def target(which: int) -> None:
        try:
            for k in range(1, 2001):
                app = store.appender()
                app.append_column(columns[which], 1000 * k + which, [float(k)] * len(columns[which]))
                app.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def meddler() -> None:
        try:
            for k in range(1, 2001):
                app = store.appender()
                try:
                    app.append_ref(refs[0], 1000 * k + 500, -1.0)
                except OutOfOrderSampleError:
                    pass
                app.commit()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(0,)), threading.Thread(target=target, args=(1,)),
               threading.Thread(target=meddler)]
    for th in threads:
        th.start()
    seen = 0
    try:
        while not done.is_set():
            if not any(th.is_alive() for th in threads):
                done.set()
            got = store.querier().select([Matcher("__name__", "=", "m")], 0, 2**62)
            total = 0
            for s in got:
                ts = s.timestamps
                assert bool((ts[1:] > ts[:-1]).all()), s.labels
                total += int(ts.size)
            assert total >= seen
            seen = total
    finally:
        for th in threads:
            th.join()
        store.close()
    assert errors == []
    again = open_storage(tmp_path, background=False, retention_ms=FOREVER)
    try:
        final = _dump(again)
        for i in (1, 4, 5):  # one writer each: every sample
            times = [t for t, _ in final[i]]
            assert len(times) == 2000 and times == sorted(times)
        # Series 2 and 3 take whichever target's sample is newer; series 0 also the meddler's.
        assert all(len(final[i]) >= 2000 for i in (0, 2, 3))
    finally:
        again.close()
