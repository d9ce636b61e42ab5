from __future__ import annotations

import pytest

from metricslib.collector.config.config import parse_config
from metricslib.collector.model import make_labels
from metricslib.collector.model.relabel import RelabelConfig
from metricslib.collector.scrape.labels import label_limit_error, sample_labels

TARGET = make_labels({"job": "api", "instance": "h:1"})


def test_target_labels_win_and_exposed_ones_are_exported() -> None:
    raw = make_labels({"__name__": "m", "job": "x", "exported_job": "y", "path": "/"})
    assert dict(sample_labels(raw, TARGET, False, ())) == {
        "__name__": "m", "job": "api", "instance": "h:1", "path": "/",
        "exported_job": "y", "exported_exported_job": "x"}


def test_shorter_conflicting_names_get_their_prefix_first() -> None:
    target = make_labels({"a": "t", "exported_a": "t2"})
    raw = make_labels({"__name__": "m", "a": "1", "exported_a": "2"})
    # Both exposed names are taken by the target, so each climbs to the next free prefix.
    out = dict(sample_labels(raw, target, False, ()))
    assert out["a"] == "t" and out["exported_a"] == "t2"
    assert out["exported_exported_a"] == "1" and out["exported_exported_exported_a"] == "2"


def test_honor_labels_keeps_exposed_values_and_fills_missing() -> None:
    raw = make_labels({"__name__": "m", "job": "x"})
    assert dict(sample_labels(raw, TARGET, True, ())) == {"__name__": "m", "job": "x", "instance": "h:1"}


def test_metric_relabelling_runs_after_the_merge_and_can_drop() -> None:
    rules = (RelabelConfig.create(source_labels=["job", "__name__"], regex="api;m", action="drop"),)
    assert sample_labels(make_labels({"__name__": "m"}), TARGET, False, rules) == ()
    assert sample_labels(make_labels({"__name__": "n"}), TARGET, False, rules) != ()


@pytest.mark.parametrize(
    ("setting", "labels", "message"),
    [
        ("label_limit: 2", {"__name__": "m", "a": "1", "b": "2"}, "label_limit exceeded (metric: m, number of labels: 3, limit: 2)"),
        ("label_name_length_limit: 3", {"__name__": "m", "long": "1"}, "label_name_length_limit exceeded"),
        ("label_value_length_limit: 3", {"__name__": "m", "a": "long"}, "label_value_length_limit exceeded"),
        ("label_limit: 5", {"a": "1"}, "has no metric name"),
    ],
)
def test_label_limits(setting: str, labels: dict[str, str], message: str) -> None:
    sc = parse_config(f"scrape_configs:\n  - job_name: a\n    {setting}\n").scrape_configs[0]
    assert message in label_limit_error(make_labels(labels), sc)


def test_within_limits_is_no_error() -> None:
    sc = parse_config("scrape_configs:\n  - job_name: a\n    label_limit: 3\n").scrape_configs[0]
    assert label_limit_error(make_labels({"__name__": "m", "a": "1", "b": "2"}), sc) == ""
