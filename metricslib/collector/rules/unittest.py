"""``metricslib test rules FILE...``: promtool's rule unit-test files, run unchanged.

A test file names rule files (relative to itself), an ``evaluation_interval``
and test groups; each group loads ``input_series`` into a fresh store at
``start_timestamp`` + i * ``interval``, evaluates every rule group from the
start to the last ``eval_time`` at the evaluation interval, compares firing
alerts at each ``alert_rule_test``'s time and, at the end, each
``promql_expr_test``'s instant query. Output and exit codes are promtool's:
``SUCCESS`` or ``FAILED:`` with a readable diff, 0 when every file passed,
1 otherwise. Series with native-histogram values are not supported: such a
test group is skipped and named on stderr.
"""

from __future__ import annotations

import glob
import math
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import yaml

from metricslib.collector.config.durations import format_duration, parse_duration
from metricslib.collector.model import Labels
from metricslib.collector.model.value_text import go_float_e
from metricslib.collector.promql.engine import Engine
from metricslib.collector.rules.alerting import STATE_FIRING, AlertingRule
from metricslib.collector.rules.group import AnyRule, Group
from metricslib.collector.rules.query import engine_query
from metricslib.collector.rules.recording import RecordingRule
from metricslib.collector.rules.rulefmt import RuleGroup, parse_rule_file_at
from metricslib.collector.rules.series_notation import UnsupportedValue, expand_values, parse_series
from metricslib.collector.rules.templates import check_template
from metricslib.collector.storage import open_storage

__all__ = ["test_rules_cli"]

_FILE_KEYS = {"rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"}
_GROUP_KEYS = {"interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels",
               "external_url", "name", "start_timestamp"}
_DAY_MS = 86_400_000


class _Skip(Exception):
    """The group uses something this runner does not evaluate."""


@dataclass
class _Outcome:
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _labels_text(labels: Labels | dict[str, str]) -> str:
    pairs = sorted(labels.items()) if isinstance(labels, dict) else labels
    return "{" + ", ".join(f'{k}="{v}"' for k, v in pairs) + "}"


def _duration(value: Any, where: str) -> int:
    try:
        return int(parse_duration(str(value)))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _start_ms(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int | float):
        return int(value * 1000)
    text = str(value)
    try:
        return int(float(text) * 1000)
    except ValueError:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _equal(a: float, b: float, fuzzy: bool) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    # Within one unit in the last place: what a sum computed in another order differs by.
    return fuzzy and abs(a - b) <= 2**-52 * max(abs(a), abs(b))


def _unknown(mapping: dict[str, Any], known: set[str], type_name: str) -> list[str]:
    return [f"field {k} not found in type {type_name}" for k in mapping if k not in known]


def _load_rules(paths: list[str], ignore_unknown: bool) -> tuple[list[RuleGroup], list[str]]:
    groups: list[RuleGroup] = []
    errors: list[str] = []
    for path in paths:
        rule_file, problems = parse_rule_file_at(path, template_check=check_template,
                                                 ignore_unknown_fields=ignore_unknown)
        if problems or rule_file is None:
            errors.extend(problems)
        else:
            groups.extend(rule_file.groups)
    return groups, errors


def _make_groups(specs: list[RuleGroup], interval_ms: int, external_labels: dict[str, str],
                 external_url: str, order: Sequence[str]) -> list[Group]:
    groups = []
    for spec in specs:
        rules: list[AnyRule] = []
        for rule in spec.rules:
            if rule.is_alert:
                rules.append(AlertingRule(rule, dict(spec.labels), external_labels, external_url))
            else:
                rules.append(RecordingRule(rule, dict(spec.labels)))
        groups.append(Group(spec.name, spec.file, rules, spec.interval_ms or interval_ms,
                            query_offset_ms=spec.query_offset_ms or 0, limit=spec.limit))
    if order:
        rank = {name: i for i, name in enumerate(order)}
        groups.sort(key=lambda g: rank.get(g.name, len(rank)))
    return groups


def _run_group(test: dict[str, Any], specs: list[RuleGroup], eval_interval_ms: int, fuzzy: bool,
               order: Sequence[str]) -> list[str]:
    errors: list[str] = []
    name = str(test.get("name") or "")
    prefix = f"    name: {name},\n" if name else ""
    interval_ms = _duration(test["interval"], "interval") if test.get("interval") is not None else eval_interval_ms
    mint = _start_ms(test.get("start_timestamp"))
    external = {str(k): str(v) for k, v in (test.get("external_labels") or {}).items()}
    groups = _make_groups(specs, eval_interval_ms, external, str(test.get("external_url") or ""), order)
    with tempfile.TemporaryDirectory(prefix="metricslib-test-rules-") as tmp:
        store = open_storage(tmp, background=False, retention_ms=10**15)
        try:
            app = store.appender()
            for item in test.get("input_series") or []:
                labels = parse_series(str(item.get("series", "")))
                values = item.get("values", "")
                try:
                    points = expand_values(str(values) if not isinstance(values, str) else values)
                except UnsupportedValue as exc:
                    raise _Skip(f"{_labels_text(labels)}: {exc}") from exc
                for i, value in enumerate(points):
                    if value is not None:
                        app.append(labels, mint + i * interval_ms, value)
            app.commit()
            query = engine_query(lambda: Engine(store.querier()))
            alert_tests = sorted(
                ((_duration(t.get("eval_time", 0), "eval_time"), t) for t in test.get("alert_rule_test") or []),
                key=lambda pair: pair[0])
            expr_tests = [(_duration(t.get("eval_time", 0), "eval_time"), t) for t in test.get("promql_expr_test") or []]
            max_eval = max([t for t, _ in alert_tests] + [t for t, _ in expr_tests] + [0])
            current = 0
            ts = 0
            while ts <= max_eval:
                for group in groups:
                    group.eval(mint + ts, query, store.appender)
                    for rule in group.rules:
                        if rule.status.last_error:
                            errors.append(f"    rule: {rule.name}, time: {format_duration(ts)}, "
                                          f"err: {rule.status.last_error}")
                if errors:
                    return errors
                while current < len(alert_tests) and ts <= alert_tests[current][0] < ts + eval_interval_ms:
                    at, case = alert_tests[current]
                    errors.extend(_check_alerts(case, at, groups, prefix))
                    current += 1
                ts += eval_interval_ms
            for at, case in expr_tests:
                errors.extend(_check_expr(case, mint + at, at, query, fuzzy, prefix))
        finally:
            store.close()
    return errors


def _alerts_text(alerts: list[tuple[Labels, Labels]]) -> str:
    if not alerts:
        return "[]"
    lines = ["["]
    for i, (labels, notes) in enumerate(alerts):
        lines += [f"            {i}:", f"              Labels:{_labels_text(labels)}",
                  f"              Annotations:{_labels_text(notes)}"]
    lines.append("            ]")
    return "\n".join(lines)


def _check_alerts(case: dict[str, Any], at: int, groups: list[Group], prefix: str) -> list[str]:
    alertname = str(case.get("alertname", ""))
    got: list[tuple[Labels, Labels]] = []
    for group in groups:
        for rule in group.alerting_rules():
            if rule.name == alertname:
                got.extend((a.labels, a.annotations) for a in rule.active_alerts() if a.state == STATE_FIRING)
    expected: list[tuple[Labels, Labels]] = []
    for alert in case.get("exp_alerts") or []:
        labels = {str(k): str(v) for k, v in (alert.get("exp_labels") or {}).items()}
        labels["alertname"] = alertname
        annotations = {str(k): str(v) for k, v in (alert.get("exp_annotations") or {}).items()}
        expected.append((tuple(sorted(labels.items())), tuple(sorted(annotations.items()))))
    got.sort()
    expected.sort()
    if got == expected:
        return []
    return [f"{prefix}    alertname: {alertname}, time: {format_duration(at)}, \n"
            f"        exp:{_alerts_text(expected)}, \n        got:{_alerts_text(got)}"]


def _check_expr(case: dict[str, Any], t_ms: int, at: int, query: Any, fuzzy: bool, prefix: str) -> list[str]:
    expr = str(case.get("expr", ""))
    where = f'    expr: "{expr}", time: {format_duration(at)}'
    try:
        got = sorted(query(expr, t_ms))
    except Exception as exc:  # the query's own error, reported as promtool reports it
        return [f"{where}, err: {exc}"]
    expected = []
    for sample in case.get("exp_samples") or []:
        text = str(sample.get("labels") or "")
        try:
            labels = parse_series(text) if text else ()
        except ValueError as exc:
            return [f'{where}, err: labels "{text}": {exc}']
        expected.append((labels, float(sample.get("value", 0))))
    expected.sort()
    same = len(got) == len(expected) and all(
        gl == el and _equal(gv, ev, fuzzy) for (gl, gv), (el, ev) in zip(got, expected, strict=True))
    if same:
        return []

    def show(samples: list[tuple[Labels, float]]) -> str:
        return ", ".join(f"{_labels_text(lbls)} {go_float_e(v, 'E')}" for lbls, v in samples)

    return [f"{prefix}{where},\n        exp: {show(expected)}\n        got: {show(got)}"]


def _run_file(path: str, run: Sequence[str], ignore_unknown: bool) -> _Outcome:
    outcome = _Outcome()
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        outcome.errors.append(str(exc))
        return outcome
    if not isinstance(doc, dict):
        outcome.errors.append(f"{path}: a test file is a mapping")
        return outcome
    unknown = _unknown(doc, _FILE_KEYS, "main.unitTestFile")
    for test in doc.get("tests") or []:
        if isinstance(test, dict):
            unknown += _unknown(test, _GROUP_KEYS, "main.testGroup")
    if unknown:
        outcome.errors.append("yaml: unmarshal errors:\n  " + "\n  ".join(unknown))
        return outcome
    base = os.path.dirname(os.path.abspath(path))
    paths: list[str] = []
    for pattern in doc.get("rule_files") or []:
        full = os.path.join(base, str(pattern))
        matched = sorted(glob.glob(full)) or [full]
        paths += [p for p in matched if p not in paths]
    specs, problems = _load_rules(paths, ignore_unknown)
    if problems:
        outcome.errors.extend(problems)
        return outcome
    try:
        eval_interval = _duration(doc.get("evaluation_interval") or "1m", "evaluation_interval")
    except ValueError as exc:
        outcome.errors.append(str(exc))
        return outcome
    patterns = [re.compile(r) for r in run]
    for test in doc.get("tests") or []:
        test = test or {}
        name = str(test.get("name") or "")
        if patterns and not any(p.search(name) for p in patterns):
            continue
        try:
            outcome.errors.extend(_run_group(test, specs, eval_interval, bool(doc.get("fuzzy_compare")),
                                             [str(g) for g in doc.get("group_eval_order") or []]))
        except _Skip as exc:
            outcome.skipped.append(f"{name or '(unnamed)'}: {exc}")
        except ValueError as exc:
            outcome.errors.append(str(exc))
    return outcome


def test_rules_cli(files: Sequence[str], *, run: Sequence[str] = (), ignore_unknown_fields: bool = False,
                   out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run each file; 0 when all passed, 1 otherwise (promtool's codes)."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    for path in files:
        print(f"Unit Testing:  {path}", file=out)
        outcome = _run_file(path, run, ignore_unknown_fields)
        for skipped in outcome.skipped:
            print(f"  SKIPPED test group {skipped}", file=err)
        if outcome.errors:
            failed = True
            out.flush()
            print("  FAILED:", file=err)
            for error in outcome.errors:
                print(error, file=err)
        else:
            print("  SUCCESS", file=out)
        print(file=out)
    return 1 if failed else 0
