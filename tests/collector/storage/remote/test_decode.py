"""The remote-write reader against our encoder, a real snappy, and broken bodies."""

from __future__ import annotations

import math
import random
import struct

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.storage.remote.decode import (
    BULK_MIN_SAMPLES,
    MAX_DECODED_BYTES,
    RemoteWriteDecodeError,
    decode_write_request,
    snappy_decompress,
)
from metricslib.collector.storage.remote.proto import (
    _snappy_literals,
    encode_write_request,
    snappy_compress,
    varint,
)

_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
_labels = st.lists(st.tuples(_names, st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)),
                   min_size=1, max_size=4).map(tuple)
_samples = st.lists(st.tuples(st.integers(-(1 << 63), (1 << 63) - 1), st.floats(allow_nan=True)), max_size=5)


def _bits(samples: list[tuple[int, float]]) -> list[tuple[int, bytes]]:
    return [(t, struct.pack("<d", v)) for t, v in samples]


@settings(deadline=None)
@given(st.lists(st.tuples(_labels, _samples), max_size=5))
def test_decodes_what_our_encoder_writes(series: list[tuple[tuple[tuple[str, str], ...], list[tuple[int, float]]]]) -> None:
    got = decode_write_request(snappy_decompress(snappy_compress(encode_write_request(series))))
    assert [(tuple(labels), _bits(samples)) for labels, samples in got] == [
        (labels, _bits(samples)) for labels, samples in series
    ]


def test_literal_only_snappy_and_real_snappy_both_decode() -> None:
    data = encode_write_request([((("__name__", "x"),), [(1, 2.0)])]) * 3
    assert snappy_decompress(_snappy_literals(data)) == data
    assert snappy_decompress(bytes(cramjam.snappy.compress_raw(data))) == data


def test_unknown_fields_are_skipped_by_wire_type() -> None:
    # A TimeSeries with an extra varint field 5, fixed32 field 6 and a bytes field 3 (an exemplar).
    sample = b"\x09" + struct.pack("<d", 7.5) + b"\x10\x05"
    series = b"\x0a\x07\x0a\x01a\x12\x02bc" + b"\x28\x01" + b"\x35abcd" + b"\x1a\x02zz" + b"\x12" + bytes([len(sample)]) + sample
    body = b"\x0a" + bytes([len(series)]) + series + b"\x18\x02"  # and a varint field 3 at the top
    assert decode_write_request(body) == [([("a", "bc")], [(5, 7.5)])]


def test_sample_fields_in_any_order() -> None:
    sample = b"\x10\x05" + b"\x09" + struct.pack("<d", -1.0)
    series = b"\x12" + bytes([len(sample)]) + sample
    [(_, samples)] = decode_write_request(b"\x0a" + bytes([len(series)]) + series)
    assert samples == [(5, -1.0)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x0a\x05\x0a", "runs past the end"),
        (b"\x0a", "truncated varint"),
        (b"\x0a\x05\x0a\x03\x0a\x01\xff", "not valid UTF-8"),
        (b"\x0f", "wire type 7"),
        (b"\x0a\x05\x12\x03\x09\x00\x00", "truncated sample value"),
    ],
)
def test_broken_protobuf_names_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(RemoteWriteDecodeError, match=message):
        decode_write_request(body)


def test_broken_snappy_is_a_decode_error() -> None:
    with pytest.raises(RemoteWriteDecodeError, match="snappy"):
        snappy_decompress(b"\x10\xff\xff\xff")


def test_a_body_announcing_a_huge_size_is_refused_before_decompressing() -> None:
    huge = MAX_DECODED_BYTES + 1
    header = bytearray()
    while huge >= 0x80:
        header.append(huge & 0x7F | 0x80)
        huge >>= 7
    header.append(huge)
    with pytest.raises(RemoteWriteDecodeError, match="more than"):
        snappy_decompress(bytes(header) + b"\x00")


def test_staleness_marker_bits_survive() -> None:
    stale = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
    [(_, [(_, v)])] = decode_write_request(encode_write_request([((("a", "b"),), [(1, stale)])]))
    assert math.isnan(v) and struct.pack("<d", v) == struct.pack("<d", stale)


@settings(deadline=None)
@given(
    st.integers(0, 9).flatmap(lambda width: st.lists(
        st.tuples(st.integers(max(0, 1 << (7 * width - 7)) if width else 0, (1 << (7 * max(width, 1))) - 1),
                  st.floats(allow_nan=True)), min_size=BULK_MIN_SAMPLES - 1, max_size=BULK_MIN_SAMPLES + 4)),
)
def test_a_run_of_same_layout_samples_decodes_as_one_by_one(samples: list[tuple[int, float]]) -> None:
    """Samples whose timestamps take as many varint bytes go through the bulk path;
    the answer must be the general path's, bit for bit."""
    data = encode_write_request([((("a", "b"),), samples)])
    [(labels, got)] = decode_write_request(data)
    assert labels == [("a", "b")] and _bits(got) == _bits(samples)


def test_the_bulk_path_is_taken_for_a_uniform_run_and_matches() -> None:
    from metricslib.collector.storage.remote import decode

    samples = [(1_700_000_000_000 + k * 15_000, float(k) * 1.5) for k in range(50)]
    series = encode_write_request([((("a", "b"),), samples)])
    start = series.index(b"\x12\x10\x09")
    run = decode._sample_run(series, start, len(series))
    assert run is not None and run[0] == samples
    # a run with one odd sample (a one-byte timestamp) is not taken in bulk, but still decodes
    mixed = encode_write_request([((("a", "b"),), [*samples, (5, 1.0)])])
    assert decode._sample_run(mixed, start, len(mixed)) is None
    assert decode_write_request(mixed)[0][1] == [*samples, (5, 1.0)]
    # too few samples for numpy's fixed cost to pay: one by one
    short = encode_write_request([((("a", "b"),), samples[: BULK_MIN_SAMPLES - 1])])
    assert decode._sample_run(short, start, len(short)) is None
    assert decode_write_request(short)[0][1] == samples[: BULK_MIN_SAMPLES - 1]


def _field(number: int, wire: int, payload: bytes) -> bytes:
    if wire == 2:
        payload = varint(len(payload)) + payload
    return varint(number << 3 | wire) + payload


# Fields a newer sender may add: (number, wire type, payload as written after the key).
_unknown = st.one_of(
    st.builds(lambda n, v: _field(n, 0, varint(v)), st.integers(3, 20), st.integers(0, (1 << 64) - 1)),
    st.builds(lambda n, b: _field(n, 1, b), st.integers(3, 20), st.binary(min_size=8, max_size=8)),
    st.builds(lambda n, b: _field(n, 2, b), st.integers(3, 20), st.binary(max_size=200)),
    st.builds(lambda n, b: _field(n, 5, b), st.integers(3, 20), st.binary(min_size=4, max_size=4)),
)
_text_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=150)


@settings(deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([1, 2]), _text_values), max_size=4),
    st.lists(st.one_of(st.tuples(st.just(1), st.floats(allow_nan=True)),
                       st.tuples(st.just(2), st.integers(-(1 << 63), (1 << 63) - 1))), max_size=4),
    st.lists(_unknown, max_size=3),
    st.randoms(use_true_random=False),
)
def test_label_and_sample_fields_in_any_order_repeated_or_unknown(
    label_fields: list[tuple[int, str]], sample_fields: list[tuple[int, float | int]],
    unknown: list[bytes], rnd: random.Random,
) -> None:
    """A field's last value wins, a missing one keeps its default, unknown fields are skipped."""
    label_parts = [_field(n, 2, text.encode()) for n, text in label_fields] + unknown
    sample_parts = [
        _field(1, 1, struct.pack("<d", v)) if n == 1 else _field(2, 0, varint(int(v))) for n, v in sample_fields
    ] + unknown
    # Unknown fields go anywhere; the known ones keep their order, so the last one is known.
    for parts, known in ((label_parts, len(label_fields)), (sample_parts, len(sample_fields))):
        extra = parts[known:]
        del parts[known:]
        for part in extra:
            parts.insert(rnd.randint(0, len(parts)), part)
    label, sample = b"".join(label_parts), b"".join(sample_parts)
    series = _field(1, 2, label) + _field(2, 2, sample)
    [(labels, samples)] = decode_write_request(_field(1, 2, series))
    name = next((v for n, v in reversed(label_fields) if n == 1), "")
    value = next((v for n, v in reversed(label_fields) if n == 2), "")
    t = next((int(v) for n, v in reversed(sample_fields) if n == 2), 0)
    v = next((float(v) for n, v in reversed(sample_fields) if n == 1), 0.0)
    assert labels == [(name, value)]
    assert _bits(samples) == _bits([(t, v)])
