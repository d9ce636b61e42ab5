"""The store against a plain-Python model, under random operation sequences."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metricslib.collector.model import Matcher, make_labels
from metricslib.collector.storage import Store, open_storage
from metricslib.errors import OutOfOrderSampleError

_append = st.tuples(st.just("append"), st.integers(0, 3), st.integers(-3, 40), st.integers(-5, 5))
_commit = st.tuples(st.just("commit"))
ops = st.lists(
    st.one_of(
        # Listed several times: appends and commits should dominate a sequence.
        _append,
        _append,
        _append,
        _commit,
        _commit,
        st.tuples(st.just("rollback")),
        st.tuples(st.just("flush")),
        st.tuples(st.just("compact")),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("crash")),
    ),
    max_size=60,
)


NONE = -(2**62)


def _open(path: Path, wal: bool) -> Store:
    # Tiny chunks and windows so cuts, window merges and WAL trimming all happen.
    return open_storage(path, background=False, retention_ms=10**15, head_chunk_samples=3,
                        chunk_range_ms=100, wal=wal)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops)
@example(ops=[("append", 0, 5, 1), ("commit",), ("flush",), ("crash",)])
@example(ops=[("append", 0, 5, 1), ("commit",), ("append", 0, 200, 2), ("commit",), ("flush",),
              ("append", 1, 7, 3), ("commit",), ("crash",), ("append", 1, 1, 4), ("commit",), ("reopen",)])
@pytest.mark.parametrize("wal", [True, False], ids=["with-log", "without-log"])
def test_store_matches_model(ops: list[tuple[object, ...]], wal: bool) -> None:
    """Without the log a crash loses what was not flushed; with it, nothing committed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        store = _open(path, wal)
        committed: dict[int, list[tuple[int, float]]] = {i: [] for i in range(4)}
        durable: dict[int, list[tuple[int, float]]] = {i: [] for i in range(4)}
        pending: list[tuple[int, int, float]] = []
        last = {i: NONE for i in range(4)}
        app = store.appender()
        try:
            for op in ops:
                kind = op[0]
                if kind == "append":
                    _, i, step, v = op
                    lab = make_labels({"__name__": "m", "i": str(i)})
                    newest = max([t for j, t, _ in pending if j == i], default=last[i])
                    # The first sample of a series is always accepted.
                    t = (newest if newest > NONE else 0) + int(step)  # type: ignore[call-overload]
                    try:
                        app.append(lab, t, float(v))  # type: ignore[arg-type]
                        accepted = t > newest  # an equal (t, v) is a silent duplicate
                    except OutOfOrderSampleError:
                        accepted = False
                    if accepted:
                        pending.append((int(i), t, float(v)))  # type: ignore[call-overload,arg-type]
                elif kind == "commit":
                    app.commit()
                    for i, t, v in pending:
                        committed[i].append((t, v))
                        last[i] = t
                    pending = []
                elif kind == "rollback":
                    app.rollback()
                    pending = []
                elif kind == "flush":
                    store.flush()
                    durable = {i: list(x) for i, x in committed.items()}
                elif kind == "compact":
                    store.compact(final=True)
                elif kind in ("reopen", "crash"):
                    if kind == "reopen":
                        store.close()
                        durable = {i: list(x) for i, x in committed.items()}
                    else:  # a kill: no flush, no close
                        if store.wal is not None:
                            os.close(store.wal._fd)
                        store.db.close()
                        store.head.closed = True
                        if not wal:  # whatever was not flushed is lost
                            committed = {i: list(x) for i, x in durable.items()}
                            last = {i: (x[-1][0] if x else NONE) for i, x in committed.items()}
                    pending = []
                    store = _open(path, wal)
                    app = store.appender()
            got = {
                int(dict(s.labels)["i"]): list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                for s in store.querier().select([Matcher("__name__", "=", "m")], -(10**12), 10**12)
            }
            assert got == {i: x for i, x in committed.items() if x}
        finally:
            store.close()
