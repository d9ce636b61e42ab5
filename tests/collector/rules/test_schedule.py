"""Aligned evaluation times: XXH64, the per-group offset, missed iterations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.rules.schedule import (
    eval_timestamp_ns,
    group_hash,
    next_evaluation,
)


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
