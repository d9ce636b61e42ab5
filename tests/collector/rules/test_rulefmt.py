"""Rule files: the format's fields, promtool's validation messages, aliases and merges."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.rules.rulefmt import RuleFileError, load_rule_file, parse_rule_file


def problems(text: str, **kw: object) -> list[str]:
    rule_file, found = parse_rule_file(text, "r.yml", **kw)  # type: ignore[arg-type]
    assert (rule_file is None) == bool(found)
    return found


def test_every_field_is_read() -> None:
    text = """
groups:
  - name: g
    interval: 30s
    limit: 10
    query_offset: 1m
    labels: {team: web}
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {a: b}
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} down"}
"""
    rule_file, found = parse_rule_file(text, "r.yml")
    assert found == [] and rule_file is not None
    (group,) = rule_file.groups
    assert (group.name, group.file, group.interval_ms, group.limit, group.query_offset_ms, group.labels) == (
        "g", "r.yml", 30_000, 10, 60_000, (("team", "web"),))
    record, alert = group.rules
    assert (record.record, record.expr, record.labels, record.is_alert, record.line) == (
        "job:up:sum", "sum by (job) (up)", (("a", "b"),), False, 9)
    assert (alert.alert, alert.for_ms, alert.keep_firing_for_ms, alert.is_alert) == ("Down", 300_000, 60_000, True)
    assert alert.annotations == (("summary", "{{ $labels.instance }} down"),)


def test_defaults_leave_interval_and_offset_to_the_global_config() -> None:
    rule_file, _ = parse_rule_file("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: '1'\n")
    assert rule_file is not None
    group = rule_file.groups[0]
    assert (group.interval_ms, group.query_offset_ms, group.limit) == (None, None, 0)


def test_empty_file_has_no_groups() -> None:
    rule_file, found = parse_rule_file("", "e.yml")
    assert found == [] and rule_file is not None and rule_file.rule_count == 0


@pytest.mark.parametrize(("text", "message"), [
    ("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: rate(x)\n",
     'r.yml: 5:15: group "g", rule 1, "a": could not parse expression: 1:6: parse error: expected type '
     'range vector in call to function "rate", got instant vector'),
    ("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: '1'\n        annotation: {}\n",
     "r.yml: yaml: unmarshal errors:\n  line 6: field annotation not found in type rulefmt.RuleNode"),
    ("groups:\n  - name: g\n  - name: g\n", 'r.yml: 3:5: groupname: "g" is repeated in the same file'),
    ("groups:\n  - rules: []\n", "r.yml: 2:5: Groupname must not be empty"),
    ("groups:\n  - name: g\n    rules:\n      - expr: '1'\n",
     'r.yml: 0:0: group "g", rule 1, "": one of \'record\' or \'alert\' must be set'),
    ("groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: '1'\n",
     'r.yml: 4:17: 5:16: group "g", rule 1, "b": only one of \'record\' and \'alert\' must be set'),
    ("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: '1'\n        for: 1m\n",
     'r.yml: 4:17: group "g", rule 1, "a": invalid field \'for\' in recording rule'),
    ("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: '1'\n        annotations: {x: y}\n",
     'r.yml: 4:17: group "g", rule 1, "a": invalid field \'annotations\' in recording rule'),
    ("groups:\n  - name: g\n    rules:\n      - record: a{b=\"c\"}\n        expr: '1'\n",
     'r.yml: 4:17: group "g", rule 1, "a{b=\\"c\\"}": invalid recording rule name: a{b="c"}'),
    ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '1'\n        labels: {__name__: x}\n",
     'r.yml: group "g", rule 1, "A": invalid label name: __name__'),
    ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '1'\n        for: soon\n",
     "r.yml: yaml: unmarshal errors:\n  line 6: not a valid duration string: 'soon'"),
    ("groups:\n  - name: g\n    rules:\n      - record: a\n", 'r.yml: 0:0: group "g", rule 1, "a": field \'expr\' must be set in rule'),
    ("groups: {a: 1}\n", "r.yml: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into []rulefmt.RuleGroup"),
])
def test_problems_are_worded_as_promtool_words_them(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_every_problem_of_a_file_is_listed() -> None:
    text = "groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: rate(x)\n        for: 1m\n"
    assert len(problems(text)) == 3


def test_utf8_names_follow_prometheus_3() -> None:
    text = "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: '1'\n        labels: {ins-tance: x}\n"
    assert len(problems(text)) == 1
    assert problems(text, utf8_names=True) == []


def test_templates_are_checked_with_the_injected_checker() -> None:
    def check(name: str, text: str) -> None:
        if "bad" in text:
            raise ValueError(f"template: {name}:1: bad thing")

    text = ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '1'\n"
            "        annotations: {summary: bad, ok: fine}\n")
    assert problems(text, template_check=check) == [
        'r.yml: group "g", rule 1, "A": annotation "summary": template: __alert_A:1: bad thing']


def test_aliases_and_merge_keys() -> None:
    text = """
groups:
  - name: g
    rules:
      - &base
        alert: &name A
        expr: &e up == 0
        labels: {severity: page}
      - <<: *base
        alert: B
      - alert: *name
        expr: *e
        labels: {severity: page}
"""
    rule_file, found = parse_rule_file(text)
    assert found == [] and rule_file is not None
    _, b, c = rule_file.groups[0].rules
    assert (b.alert, b.expr, b.labels) == ("B", "up == 0", (("severity", "page"),))
    assert (c.alert, c.expr) == ("A", "up == 0")
    # promtool's lint names an aliased alert by its anchor (Go's decoder does).
    assert rule_file.duplicates == ()


def test_duplicates_are_reported_once_per_name_and_labels() -> None:
    rule = "      - record: r\n        expr: '1'\n"
    rule_file, _ = parse_rule_file("groups:\n  - name: g\n    rules:\n" + rule * 3 + "  - name: h\n    rules:\n" + rule)
    assert rule_file is not None and rule_file.duplicates == (("r", ()),)


def test_load_rule_file_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("groups:\n  - name: g\n  - name: g\n")
    with pytest.raises(RuleFileError) as info:
        load_rule_file(str(path))
    assert info.value.problems == [f'{path}: 3:5: groupname: "g" is repeated in the same file']
    with pytest.raises(RuleFileError, match="no such file"):
        load_rule_file(str(tmp_path / "missing.yml"))


_NAMES = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,10}", fullmatch=True)
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)


@given(name=_NAMES, labels=st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), _TEXT,
                                           max_size=3))
def test_a_dumped_rule_reads_back_unchanged(name: str, labels: dict[str, str]) -> None:
    labels.pop("__name__", None)
    doc = {"groups": [{"name": "g", "rules": [{"record": name, "expr": "up", "labels": labels}]}]}
    rule_file, found = parse_rule_file(yaml.safe_dump(doc, allow_unicode=True))
    assert found == [] and rule_file is not None
    rule = rule_file.groups[0].rules[0]
    assert (rule.record, rule.expr, dict(rule.labels)) == (name, "up", labels)
