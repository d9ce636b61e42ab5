"""bench_capacity's scrape-offset analysis: phases on the circle of the interval."""

from __future__ import annotations

import pytest

from bench.bench_capacity import phase_gaps, target_phases


def test_a_phase_is_where_in_the_interval_the_requests_fall() -> None:
    times = {1: [100.25, 105.25, 110.25], 2: [101.0, 106.0]}
    assert target_phases(times, 0, 1e9, 5.0) == pytest.approx({1: 0.25, 2: 1.0})


def test_requests_either_side_of_the_interval_start_average_to_it() -> None:
    # 4.99 s and 0.01 s into a 5 s interval: the plain mean (2.5 s) would be the far side.
    phase = target_phases({1: [104.99, 110.01]}, 0, 1e9, 5.0)[1]
    assert min(phase, 5.0 - phase) == pytest.approx(0.0, abs=1e-9)


def test_only_requests_inside_the_window_count() -> None:
    times = {1: [100.5, 106.0, 111.0], 2: [90.0]}
    assert target_phases(times, 105.0, 120.0, 5.0) == pytest.approx({1: 1.0})


def test_gaps_are_distances_on_the_circle_for_targets_in_both() -> None:
    ours = {1: 0.1, 2: 2.0, 3: 1.0}
    theirs = {1: 4.9, 2: 4.5, 4: 0.0}
    assert phase_gaps(ours, theirs, 5.0) == pytest.approx([0.2, 2.5])
