from __future__ import annotations

from metricslib.collector.model.relabel import RelabelConfig
from metricslib.collector.notifier.relabel import relabel_alerts
from tests.collector.notifier.fakes import alert


def test_external_labels_are_added_only_where_missing() -> None:
    (out,) = relabel_alerts([alert("A", cluster="mine")], {"cluster": "eu", "replica": "1"}, [])
    assert dict(out.labels) == {"alertname": "A", "cluster": "mine", "replica": "1"}


def test_relabel_rules_see_external_labels_and_may_drop_them() -> None:
    rules = [RelabelConfig.create(action="labeldrop", regex="replica")]
    (out,) = relabel_alerts([alert("A")], {"replica": "1"}, rules)
    assert dict(out.labels) == {"alertname": "A"}
    assert out.annotations == {"summary": "A is firing"} and out.starts_at == 1_700_000_000.0


def test_a_dropped_alert_is_not_sent_and_empty_labels_are_removed() -> None:
    rules = [RelabelConfig.create(source_labels=["severity"], regex="debug", action="drop"),
             RelabelConfig.create(target_label="team", replacement="")]
    out = relabel_alerts([alert("A", severity="debug"), alert("B", team="x")], {}, rules)
    assert [dict(a.labels) for a in out] == [{"alertname": "B"}]


def test_an_unchanged_alert_is_passed_through_as_is() -> None:
    a = alert("A")
    assert relabel_alerts([a], {}, [])[0] is a
