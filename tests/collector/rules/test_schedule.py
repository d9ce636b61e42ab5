"""Aligned evaluation times: XXH64, the per-group offset, missed iterations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.rules.schedule import (
    eval_timestamp_ns,
    group_hash,
    next_evaluation,
    xxh64,
)


def test_xxh64_known_values() -> None:
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    # 32 bytes and more take the four-lane path.
    assert xxh64(b"Nobody inspects the spammish repetition") == 0xFBCEA83C8A378BF1


def test_group_hash_depends_on_file_and_name() -> None:
    assert group_hash("a.yml", "g") != group_hash("b.yml", "g") != group_hash("a.yml", "h")


@given(now=st.integers(0, 2**62), interval=st.integers(1, 10**12), h=st.integers(0, 2**64 - 1))
def test_eval_timestamp_is_aligned_and_not_in_the_future(now: int, interval: int, h: int) -> None:
    ts = eval_timestamp_ns(now, interval, h)
    assert now - interval < ts <= now
    assert (ts - h % interval) % interval == 0


def test_next_evaluation_counts_missed_iterations() -> None:
    assert next_evaluation(100, 110, 10) == (110, 0)  # on time
    assert next_evaluation(100, 115, 10) == (110, 0)  # late within one interval
    assert next_evaluation(100, 135, 10) == (130, 2)  # 110 and 120 were missed
