"""The scrape stage's own counters: summaries over a window, and what a scrape loop records."""

from __future__ import annotations

import math

from metricslib.collector.scrape.stats import ScrapeStats, WindowQuantiles
from tests.collector.apps.fakes import Clock, FakeStorage, FakeTransport
from tests.collector.scrape.test_loop import BODY, URL, job, make_loop


def test_window_quantiles_forget_old_observations_but_not_count_and_sum() -> None:
    now = [0.0]
    w = WindowQuantiles(clock=lambda: now[0])
    assert all(math.isnan(v) for _, v in w.quantiles())
    for v in range(1, 101):
        w.observe(float(v))
    assert dict(w.quantiles((0.01, 0.5, 0.99))) == {0.01: 2.0, 0.5: 51.0, 0.99: 100.0}
    now[0] = 601.0
    w.observe(7.0)
    assert dict(w.quantiles((0.5,))) == {0.5: 7.0}
    assert (w.count, w.total) == (101, 5057.0)


def test_scrape_loop_records_intervals_and_limit_failures() -> None:
    storage, transport, clock = FakeStorage(), FakeTransport(), Clock()
    stats = ScrapeStats()
    transport.set_body(URL, BODY)
    loop = make_loop(job("sample_limit: 2\n"), storage, transport, clock)
    loop.stats = stats
    assert loop.scrape_once() is False
    clock.advance(10)
    loop.scrape_once()
    clock.advance(12)
    loop.scrape_once()
    assert stats.exceeded_sample_limit == 3 and stats.scrapes_failed == 3
    window = stats.interval_length["10s"]
    assert (window.count, window.total) == (2, 22.0)


def test_body_size_failures_are_counted_apart() -> None:
    stats = ScrapeStats()
    stats.count_scrape("body size limit exceeded (1024 bytes)", 0)
    stats.count_scrape("", 3)
    stats.count_scrape('Get "x": context deadline exceeded', 0)
    assert (stats.exceeded_body_size_limit, stats.exceeded_sample_limit, stats.scrapes_failed) == (1, 0, 2)
    assert stats.sample_out_of_order == 3
