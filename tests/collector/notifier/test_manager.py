from __future__ import annotations

import threading

from metricslib.collector.config.config import Config, parse_config
from metricslib.collector.notifier.manager import NotifierManager
from tests.collector.notifier.fakes import FakePoster, alert

TWO = """\
global:
  external_labels: {cluster: eu, replica: a}
alerting:
  alert_relabel_configs:
  - action: labeldrop
    regex: replica
  alertmanagers:
  - static_configs:
    - targets: ['am1:9093', 'am2:9093']
  - path_prefix: /other
    static_configs:
    - targets: ['am3:9093']
    relabel_configs:
    - source_labels: [__address__]
      regex: 'skip:.*'
      action: drop
    alert_relabel_configs:
    - target_label: via
      replacement: other
"""
AM1, AM2 = "http://am1:9093/api/v2/alerts", "http://am2:9093/api/v2/alerts"
AM3 = "http://am3:9093/other/api/v2/alerts"


def config(text: str = TWO) -> Config:
    return parse_config(text, "p.yml")


def manager(poster: FakePoster, text: str = TWO, **kw: object) -> NotifierManager:
    m = NotifierManager(config(text), poster=poster, min_backoff=0.0, max_backoff=0.0, **kw)  # type: ignore[arg-type]
    m.discover(0.0)
    return m


def drain(m: NotifierManager) -> None:
    for sender in m.senders():
        while sender.send_next():
            pass


def test_every_alertmanager_gets_the_relabelled_alerts() -> None:
    poster = FakePoster()
    m = manager(poster)
    m.send([alert("A", severity="page")])
    drain(m)
    by_url = {p.url: p.alerts[0]["labels"] for p in poster.posts}
    assert by_url == {
        AM1: {"alertname": "A", "severity": "page", "cluster": "eu"},
        AM2: {"alertname": "A", "severity": "page", "cluster": "eu"},
        AM3: {"alertname": "A", "severity": "page", "cluster": "eu", "via": "other"},
    }


def test_alertmanagers_api_lists_active_and_dropped() -> None:
    text = TWO.replace("targets: ['am3:9093']", "targets: ['am3:9093', 'skip:1']")
    m = manager(FakePoster(), text)
    assert m.alertmanagers() == {
        "activeAlertmanagers": [{"url": AM1}, {"url": AM2}, {"url": AM3}],
        "droppedAlertmanagers": [{"url": "http://skip:1/other/api/v2/alerts"}],
    }
    assert m.discovered() == 3


def test_without_alertmanagers_alerts_are_dropped_and_counted() -> None:
    m = manager(FakePoster(), "global: {}\n")
    m.send([alert("A"), alert("B")])
    assert m.dropped_total() == 2 and m.queue_length() == 0


def test_one_failing_alertmanager_does_not_stop_the_others() -> None:
    poster = FakePoster(answer=lambda url: 0 if url == AM1 else 200)
    m = manager(poster, max_attempts=2)
    m.send([alert("A")])
    drain(m)
    stats = m.stats()
    assert (stats[AM1].sent, stats[AM1].errors, stats[AM1].dropped) == (0, 2, 1)
    assert stats[AM2].sent == 1 and stats[AM3].sent == 1
    assert m.dropped_total() == 1


def test_a_hanging_alertmanager_does_not_delay_the_others() -> None:
    release = threading.Event()
    delivered = threading.Event()

    def answer(url: str) -> int:
        if url == AM1:
            release.wait(30)  # hangs until the test has seen the others served
        elif url == AM2:
            delivered.set()
        return 200

    poster = FakePoster(answer=answer)
    m = NotifierManager(config(), poster=poster, drain_on_stop=0.0)
    m.start()
    try:
        m.send([alert("A")])
        assert delivered.wait(30), "am2 never got the alert while am1 hung"
        assert m.stats()[AM2].sent == 1 and m.stats()[AM1].sent == 0
    finally:
        release.set()
        m.stop()


def test_queue_capacity_drops_the_oldest() -> None:
    poster = FakePoster()
    m = manager(poster, "alerting:\n  alertmanagers:\n  - static_configs: [{targets: ['am1:9093']}]\n",
                capacity=3)
    m.send([alert(f"A{i}") for i in range(5)])
    assert m.queue_length() == 3 and m.dropped_total() == 2
    drain(m)
    assert poster.names() == ["A2", "A3", "A4"]


def test_reload_keeps_unchanged_entries_and_their_queues() -> None:
    poster = FakePoster()
    m = manager(poster)
    first = {s.url: s for s in m.senders()}
    m.send([alert("Queued")])
    changed = TWO.replace("path_prefix: /other", "path_prefix: /new")
    m.apply_config(config(changed))
    m.discover(1.0)
    after = {s.url: s for s in m.senders()}
    assert after[AM1] is first[AM1] and after[AM2] is first[AM2]
    assert AM3 not in after and "http://am3:9093/new/api/v2/alerts" in after
    assert first[AM3].stats.dropped == 1  # the retired queue's alert is counted
    drain(m)
    assert sorted(poster.urls()) == [AM1, AM2]


def test_reload_applies_new_external_labels_and_relabel_rules() -> None:
    poster = FakePoster()
    single = "alerting:\n  alertmanagers:\n  - static_configs: [{targets: ['am1:9093']}]\n"
    m = manager(poster, single)
    m.apply_config(config("global: {external_labels: {dc: x}}\n" + single))
    m.send([alert("A")])
    drain(m)
    assert poster.posts[0].alerts[0]["labels"] == {"alertname": "A", "dc": "x"}
