from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.storage.numbers import parse_pairs

value_tokens = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.tuples(st.integers(-(10**9), 10**9), st.integers(0, 10**12)).map(lambda p: f"{p[0]}.{p[1]}"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr).filter(lambda s: "e" not in s),
    st.sampled_from(["0", "-0", "-0.0", "0.1", "1.005", "123456789012345.6", "9007199254740993"]),
)
om_stamps = st.tuples(st.integers(0, 10**11), st.sampled_from(["", ".5", ".05", ".123", ".999"]))


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(value_tokens, om_stamps), min_size=1, max_size=50))
def test_openmetrics_pairs_match_float_and_exact_milliseconds(
    pairs: list[tuple[str, tuple[int, str]]],
) -> None:
    joined = "".join(f"{v} {s}{frac} \n".replace(" \n", "\n") for v, (s, frac) in pairs)
    got = parse_pairs(joined, om=True)
    assert got is not None
    values, stamps = got
    want_v = np.array([float(v) for v, _ in pairs])
    assert np.array_equal(values.view(np.uint64), want_v.view(np.uint64))
    assert stamps.tolist() == [int(Decimal(f"{s}{frac}") * 1000) for _, (s, frac) in pairs]


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(value_tokens, st.integers(-(10**14), 10**15)), min_size=1, max_size=30))
def test_text_pairs(pairs: list[tuple[str, int]]) -> None:
    joined = "".join(f"{v} {t}\n" for v, t in pairs)
    got = parse_pairs(joined, om=False)
    assert got is not None
    values, stamps = got
    assert np.array_equal(values.view(np.uint64), np.array([float(v) for v, _ in pairs]).view(np.uint64))
    assert stamps.tolist() == [t for _, t in pairs]


def test_exponents_are_left_to_the_caller() -> None:
    assert parse_pairs("1e5 10\n", om=False) is None
