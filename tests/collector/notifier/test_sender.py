from __future__ import annotations

import math

import pytest

from metricslib.collector.config.alerting import AlertmanagerConfig
from metricslib.collector.config.durations import Duration
from metricslib.collector.config.http_client import BasicAuth, HTTPClientConfig
from metricslib.collector.notifier.sender import Sender, SendStats
from tests.collector.notifier.fakes import FakePoster, alert

URL = "http://am:9093/api/v2/alerts"


def make(poster: FakePoster, **kw: object) -> Sender:
    options: dict[str, object] = {"min_backoff": 0.0, "max_backoff": 0.0, **kw}
    config = kw.pop("config", None) or AlertmanagerConfig(timeout=Duration(3000))
    options.pop("config", None)
    return Sender(URL, config, poster, SendStats(), **options)  # type: ignore[arg-type]


def drain(sender: Sender) -> None:
    while sender.send_next():
        pass


def test_alerts_go_in_batches_of_64_oldest_first() -> None:
    poster = FakePoster()
    sender = make(poster)
    sender.add([alert(f"A{i}") for i in range(150)])
    drain(sender)
    assert [len(p.alerts) for p in poster.posts] == [64, 64, 22]
    assert poster.names() == [f"A{i}" for i in range(150)]
    assert (sender.stats.sent, sender.stats.errors, sender.stats.dropped) == (150, 0, 0)
    assert sender.stats.latency_count == 3


def test_request_headers_timeout_and_auth() -> None:
    poster = FakePoster()
    http = HTTPClientConfig(basic_auth=BasicAuth("user", "pw"))
    sender = make(poster, config=AlertmanagerConfig(timeout=Duration(2500), http=http))
    sender.add([alert("A")])
    drain(sender)
    (post,) = poster.posts
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["User-Agent"].startswith("Prometheus/")
    assert post.headers["Authorization"] == "Basic dXNlcjpwdw=="
    assert post.timeout == 2.5


def test_a_full_queue_drops_its_oldest_alerts_and_counts_them() -> None:
    poster = FakePoster()
    sender = make(poster, capacity=5)
    sender.add([alert(f"A{i}") for i in range(4)])
    sender.add([alert(f"B{i}") for i in range(3)])
    assert sender.queue_length() == 5 and sender.stats.dropped == 2
    drain(sender)
    assert poster.names() == ["A2", "A3", "B0", "B1", "B2"]


def test_server_errors_are_retried_until_they_succeed() -> None:
    answers = iter([503, 0, 200])
    poster = FakePoster(answer=lambda url: next(answers))
    sender = make(poster, max_attempts=3)
    sender.add([alert("A"), alert("B")])
    drain(sender)
    assert len(poster.posts) == 3
    assert (sender.stats.sent, sender.stats.errors, sender.stats.dropped) == (2, 4, 0)
    assert sender.last_error == ""


def test_retries_give_up_after_max_attempts_and_count_the_drop() -> None:
    poster = FakePoster(status=500)
    sender = make(poster, max_attempts=2)
    sender.add([alert("A")])
    drain(sender)
    assert len(poster.posts) == 2
    assert (sender.stats.sent, sender.stats.errors, sender.stats.dropped) == (0, 2, 1)
    assert "bad response status 500" in sender.last_error


def test_a_client_error_is_not_retried() -> None:
    poster = FakePoster(status=400)
    sender = make(poster, max_attempts=5)
    sender.add([alert("A")])
    drain(sender)
    assert len(poster.posts) == 1 and sender.stats.dropped == 1


def test_too_many_requests_is_retried() -> None:
    answers = iter([429, 200])
    poster = FakePoster(answer=lambda url: next(answers))
    sender = make(poster)
    sender.add([alert("A")])
    drain(sender)
    assert sender.stats.sent == 1 and sender.stats.errors == 1


def test_stop_drains_the_queue_and_then_refuses_more() -> None:
    poster = FakePoster()
    sender = make(poster)
    sender.add([alert("A")])
    sender.stop(drain_for=5.0)
    assert poster.names() == ["A"]
    sender.add([alert("B")])
    assert sender.stats.dropped == 1 and sender.queue_length() == 0


def test_stop_without_draining_counts_what_was_left() -> None:
    poster = FakePoster()
    sender = make(poster)
    sender.add([alert("A"), alert("B")])
    sender.stop(drain_for=0.0)
    assert poster.posts == [] and sender.stats.dropped == 2


def test_the_thread_delivers_what_is_added() -> None:
    poster = FakePoster()
    sender = make(poster)
    sender.start()
    try:
        sender.add([alert("A")])
    finally:
        sender.stop(drain_for=10.0)
    assert poster.names() == ["A"]


def test_latency_quantiles_cover_the_last_ten_minutes() -> None:
    stats = SendStats()
    for i in range(1, 101):
        stats.observe(1000.0, i / 100)
    assert stats.quantiles(1000.0, [0.5, 0.9, 0.99]) == [0.5, 0.9, 0.99]
    stats.observe(1500.0, 7.0)
    assert stats.quantiles(1601.0, [0.5]) == [7.0]  # the first hundred are older than 600s
    assert math.isnan(stats.quantiles(2200.0, [0.5])[0])
    assert (stats.latency_count, stats.latency_sum) == (101, pytest.approx(57.5))
