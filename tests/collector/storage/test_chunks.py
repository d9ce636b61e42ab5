from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.model import STALE_NAN, STALE_NAN_BITS
from metricslib.collector.storage.chunks import (
    decode_chunk,
    decode_chunks,
    encode_chunk,
    encode_chunks,
)
from metricslib.errors import StorageCorruptionError


def _bits(v: np.ndarray) -> np.ndarray:
    return v.view(np.uint64)


def _roundtrip(ts: np.ndarray, vs: np.ndarray) -> bytes:
    blob = encode_chunk(ts, vs)
    t2, v2 = decode_chunk(blob)
    assert np.array_equal(t2, ts)
    assert np.array_equal(_bits(v2), _bits(vs))
    return blob


any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**60), 2**60).map(float),
    st.integers(-10**6, 10**6).map(lambda i: i / 100),
    st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0]),
    st.just(STALE_NAN),
)


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(-(2**40), 2**45),
    gaps=st.lists(st.integers(1, 2**31), min_size=0, max_size=300),
    values=st.data(),
)
def test_any_samples_roundtrip_bit_exact(start: int, gaps: list[int], values: st.DataObject) -> None:
    ts = np.array([start, *(start + np.cumsum(gaps, dtype=np.int64)).tolist()], dtype=np.int64)
    vs = np.array(values.draw(st.lists(any_float, min_size=ts.size, max_size=ts.size)), dtype=np.float64)
    _roundtrip(ts, vs)


def test_staleness_marker_keeps_its_exact_bits_among_integers() -> None:
    ts = np.arange(100, dtype=np.int64) * 15_000
    vs = np.arange(100, dtype=np.float64)
    vs[50] = STALE_NAN
    vs[51] = float("nan")
    _roundtrip(ts, vs)
    _, got = decode_chunk(encode_chunk(ts, vs))
    assert int(got.view(np.uint64)[50]) == STALE_NAN_BITS
    assert int(got.view(np.uint64)[51]) != STALE_NAN_BITS


def test_negative_zero_and_huge_integers_survive() -> None:
    ts = np.arange(4, dtype=np.int64)
    _roundtrip(ts, np.array([-0.0, 0.0, 2.0**53 + 2, -(2.0**60)]))
    # Among small integers, where the integer mode would otherwise be chosen.
    _roundtrip(ts[:1], np.array([-0.0]))
    _roundtrip(ts, np.array([1.0, -0.0, 2.0, 3.0]))


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_chunks(n: int) -> None:
    _roundtrip(np.arange(n, dtype=np.int64) * 7 + 5, np.linspace(0.5, 3.0, n))


def test_regular_counter_compresses_below_one_byte_a_sample() -> None:
    rng = np.random.default_rng(3)
    ts = 1_700_000_000_000 + np.arange(1440, dtype=np.int64) * 5000 + rng.integers(0, 4, 1440)
    vs = np.cumsum(rng.poisson(3, 1440)).astype(np.float64)
    blob = _roundtrip(ts, vs)
    assert len(blob) / 1440 < 1.0


def test_decimal_gauge_uses_scaled_integers() -> None:
    ts = np.arange(1000, dtype=np.int64) * 5000
    vs = np.round(np.cumsum(np.full(1000, 0.01)), 2)
    blob = _roundtrip(ts, vs)
    # XOR of such floats costs several bytes a sample; scaled integers do not.
    assert len(blob) < 500


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="3 timestamps but 2 values"):
        encode_chunk(np.arange(3, dtype=np.int64), np.zeros(2))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b[:10],
        lambda b: b[:-5],
        lambda b: bytes([9]) + b[1:],
        lambda b: b[:21] + b"\xff" * (len(b) - 21),
    ],
)
def test_damaged_blobs_raise_corruption_error(mangle: object) -> None:
    blob = encode_chunk(np.arange(50, dtype=np.int64), np.arange(50, dtype=np.float64))
    with pytest.raises(StorageCorruptionError):
        decode_chunk(mangle(blob))  # type: ignore[operator]


def _series(start: int, gaps: list[int], values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    ts = np.array([start, *(start + np.cumsum(gaps, dtype=np.int64)).tolist()], dtype=np.int64)
    return ts, np.array(values[: ts.size], dtype=np.float64)


@settings(max_examples=150, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(st.integers(-(2**40), 2**45), st.integers(0, 40), st.sampled_from([1, 15_000, 15_001])),
        min_size=1,
        max_size=12,
    ),
    values=st.data(),
)
def test_bulk_decoding_equals_one_by_one(shapes: list[tuple[int, int, int]], values: st.DataObject) -> None:
    # Few distinct sizes and steps, so many chunks share a shape and are decoded as one group;
    # jittered steps, NaN, staleness markers and raw bit patterns take the other paths.
    blobs = []
    for start, n, step in shapes:
        jitter = values.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        vs = values.draw(st.lists(any_float | st.integers(0, 10**6).map(float), min_size=n + 1, max_size=n + 1))
        ts, v = _series(start, [step + j for j in jitter], vs)
        blobs.append(encode_chunk(ts, v))
    got = decode_chunks(blobs)
    assert len(got) == len(blobs)
    for blob, (t, v) in zip(blobs, got, strict=True):
        t1, v1 = decode_chunk(blob)
        assert np.array_equal(t, t1)
        assert np.array_equal(_bits(v), _bits(v1))


def test_bulk_decoding_groups_same_shaped_chunks_and_keeps_exceptions() -> None:
    ts = np.arange(120, dtype=np.int64) * 15_000
    blobs = []
    for k in range(5):
        vs = np.arange(120, dtype=np.float64) * (k + 1)
        if k == 2:
            vs[7] = STALE_NAN
        blobs.append(encode_chunk(ts + k, vs))
    got = decode_chunks(blobs)
    for k, (t, v) in enumerate(got):
        assert t.tolist() == (ts + k).tolist()
        if k == 2:
            assert int(v.view(np.uint64)[7]) == STALE_NAN_BITS
            assert v[8] == 8 * 3
        else:
            assert v.tolist() == (np.arange(120) * (k + 1.0)).tolist()


def test_bulk_decoding_reports_damaged_blobs() -> None:
    good = encode_chunk(np.arange(10, dtype=np.int64), np.arange(10, dtype=np.float64))
    with pytest.raises(StorageCorruptionError):
        decode_chunks([good, good[:-3]])
    assert decode_chunks([]) == []


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(-(2**40), 2**45),
    gaps=st.lists(st.integers(1, 2**31), min_size=0, max_size=150),
    rows=st.integers(1, 6),
    values=st.data(),
)
def test_bulk_encoding_is_encode_chunk_of_each_row(start: int, gaps: list[int], rows: int,
                                                   values: st.DataObject) -> None:
    ts = np.array([start, *(start + np.cumsum(gaps, dtype=np.int64)).tolist()], dtype=np.int64)
    # Counters, decimals and anything at all, so rows take the bulk path and the one-by-one path.
    row_values = st.one_of(
        st.lists(st.integers(0, 10**9).map(float), min_size=ts.size, max_size=ts.size),
        st.lists(st.integers(-10**6, 10**6).map(lambda i: i / 1000), min_size=ts.size, max_size=ts.size),
        st.lists(any_float, min_size=ts.size, max_size=ts.size),
    )
    vs = np.array([values.draw(row_values) for _ in range(rows)], dtype=np.float64).reshape(rows, ts.size)
    assert encode_chunks(ts, vs) == [encode_chunk(ts, row) for row in vs]


def test_bulk_encoding_of_counters_with_different_byte_widths() -> None:
    ts = np.arange(120, dtype=np.int64) * 5000 + 10**12
    vs = np.stack([np.cumsum(np.full(120, 10.0**k)) for k in range(0, 12)])  # widths 1..6 bytes
    vs[3] = -vs[3]
    vs[5] /= 100
    assert encode_chunks(ts, vs) == [encode_chunk(ts, row) for row in vs]
