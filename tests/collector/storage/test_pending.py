"""A select reads the column blocks' rows (``pending.py``): each series' own head
samples, then its column of its block's rows, in label order, trimmed to the range."""

from __future__ import annotations

from pathlib import Path

import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.storage import Store, open_storage
from metricslib.collector.storage.columns import ColumnRefs


def _store(path: Path) -> Store:
    return open_storage(path, background=False, retention_ms=10**15, head_chunk_samples=4)


def _targets(store: Store) -> list[ColumnRefs]:
    # Series of the two targets interleave in label order ("a0", "b0", "a1", ...), and
    # target b lists its series backwards, so no block's columns follow the select's order.
    a = ColumnRefs([store.series_ref((("__name__", "m"), ("s", f"{i}"), ("t", "a"))) for i in range(3)])
    b = ColumnRefs([store.series_ref((("__name__", "m"), ("s", f"{i}"), ("t", "b"))) for i in reversed(range(3))])
    return [a, b]


def _scrape(store: Store, refs: ColumnRefs, t: int) -> None:
    app = store.appender()
    app.append_column(refs, t, [t / 1000 + 10 * i for i in range(len(refs))])
    app.commit()


def _select(store: Store, mint: int = 0, maxt: int = 10**9) -> dict[tuple[str, str], list[tuple[int, float]]]:
    got = store.querier().select([Matcher("__name__", "=", "m")], mint, maxt)
    return {(dict(s.labels)["t"], dict(s.labels)["s"]): list(zip(s.timestamps.tolist(), s.values.tolist(),
                                                                 strict=True)) for s in got}


def _expected(times: dict[str, list[int]], mint: int = 0, maxt: int = 10**9) -> dict[tuple[str, str],
                                                                                       list[tuple[int, float]]]:
    out = {}
    for t, col in (("a", [0, 1, 2]), ("b", [2, 1, 0])):
        for i in range(3):
            samples = [(ts, ts / 1000 + 10 * col[i]) for ts in times[t] if mint <= ts <= maxt]
            if samples:
                out[(t, str(i))] = samples
    return out


@pytest.mark.parametrize("extra_b", [0, 1])  # blocks with as many rows (the table path) or not
def test_rows_of_two_blocks_after_a_cut(tmp_path: Path, extra_b: int) -> None:
    store = _store(tmp_path)
    a, b = _targets(store)
    times: dict[str, list[int]] = {"a": [], "b": []}
    for k in range(1, 7):
        for name, refs in (("a", a), ("b", b)):
            _scrape(store, refs, 1000 * k + (name == "b"))
            times[name].append(1000 * k + (name == "b"))
        store.flush()  # the fourth flushed row cuts both blocks: no series keeps samples of its own
    for k in range(7, 7 + extra_b):
        _scrape(store, b, 1000 * k + 1)
        times["b"].append(1000 * k + 1)
    assert a.block is not None and len(a.block.times) == 2
    assert all(len(store.head.by_id[r].ts) == 0 for r in [*a, *b])
    assert _select(store) == _expected(times)
    assert _select(store, 5000, 6500) == _expected(times, 5000, 6500)
    store.close()


def test_own_samples_come_before_the_block_rows(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a, b = _targets(store)
    app = store.appender()
    app.append_ref(a[1], 500, 7.0)  # a sample of its own before the block claims it
    app.commit()
    _scrape(store, a, 1000)
    _scrape(store, b, 1001)
    _scrape(store, a, 2000)
    got = _select(store)
    assert got[("a", "1")] == [(500, 7.0), (1000, 11.0), (2000, 12.0)]
    assert got[("a", "0")] == [(1000, 1.0), (2000, 2.0)]
    assert got[("b", "0")] == [(1001, 1.001 + 20)]
    assert _select(store, 900, 1500)[("a", "1")] == [(1000, 11.0)]
    store.close()
