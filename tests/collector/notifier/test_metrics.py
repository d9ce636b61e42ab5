from __future__ import annotations

from metricslib.exposition import generate_latest
from metricslib.registry import Registry
from tests.collector.notifier.fakes import FakePoster, alert
from tests.collector.notifier.test_manager import AM1, AM2, drain, manager


def test_self_metrics_are_named_as_prometheus_names_them() -> None:
    poster = FakePoster(answer=lambda url: 500 if url == AM2 else 200)
    m = manager(poster, max_attempts=1)
    m.send([alert("A")])
    drain(m)
    registry = Registry()
    registry.register(m.metrics)
    text = generate_latest(registry).decode()
    assert f'prometheus_notifications_latency_seconds{{alertmanager="{AM1}",quantile="0.5"}} ' in text
    for line in (
        f'prometheus_notifications_sent_total{{alertmanager="{AM1}"}} 1.0',
        f'prometheus_notifications_sent_total{{alertmanager="{AM2}"}} 0.0',
        f'prometheus_notifications_errors_total{{alertmanager="{AM2}"}} 1.0',
        "prometheus_notifications_dropped_total 1.0",
        "prometheus_notifications_queue_length 0.0",
        "prometheus_notifications_queue_capacity 10000.0",
        "prometheus_notifications_alertmanagers_discovered 3.0",
        f'prometheus_notifications_latency_seconds_count{{alertmanager="{AM1}"}} 1.0',
        f'prometheus_notifications_latency_seconds{{alertmanager="{AM2}",quantile="0.99"}} NaN',
    ):
        assert line in text, line


def test_an_alertmanager_shows_up_with_zero_counts_once_discovered() -> None:
    m = manager(FakePoster())
    registry = Registry()
    registry.register(m.metrics)
    text = generate_latest(registry).decode()
    assert f'prometheus_notifications_sent_total{{alertmanager="{AM1}"}} 0.0' in text
    assert f'prometheus_notifications_errors_total{{alertmanager="{AM1}"}} 0.0' in text
