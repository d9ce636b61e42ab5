"""``metricslib test rules``: promtool's unit-test files give promtool's exit status."""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import pytest

from metricslib.cli import main
from metricslib.collector.rules.templates import engine_available
from metricslib.collector.rules.unittest import test_rules_cli as run_tests
from tests.helpers import CONFORMANCE_DIR, require_conformance

PROMTOOL = CONFORMANCE_DIR / "rules" / "promtool"
# Expected exit statuses, from the suite's README (Prometheus 3's own tests).
EXPECTED: list[tuple[str, tuple[str, ...], int]] = [
    ("unittest.yml", (), 0),
    ("long-period.yml", (), 0),
    ("no-test-group-interval.yml", (), 0),
    ("start-time-test.yml", (), 0),
    ("at-modifier-test.yml", (), 0),
    ("negative-offset-test.yml", (), 0),
    ("rules_run_extrafields.yml", ("--ignore-unknown-fields",), 0),
    ("rules_run_extrafields.yml", (), 1),
    ("rules_run.yml", ("--run", "correct"), 0),
    ("rules_run.yml", ("--run", "wrong"), 1),
    ("rules_run.yml", (), 1),
    ("rules_run_fuzzy.yml", ("--run", "correct"), 0),
    ("rules_run_fuzzy.yml", ("--run", "wrong"), 1),
    ("rules_run_fuzzy.yml", (), 1),
    ("bad-input-series.yml", (), 1),
    ("bad-promql.yml", (), 1),
    ("bad-rules-syntax-test.yml", (), 1),
    ("bad-rules-error-test.yml", (), 1),
    ("failing.yml", (), 1),
    ("rules_run_no_fuzzy.yml", (), 1),
]
# unittest.yml checks expanded annotations: it needs the template engine.
NEEDS_TEMPLATES = {"unittest.yml"}


@pytest.mark.parametrize(("name", "flags", "status"), EXPECTED, ids=[f"{n}{''.join(f)}" for n, f, _ in EXPECTED])
def test_promtool_suite_exit_status(name: str, flags: tuple[str, ...], status: int,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    require_conformance("rules")
    if name in NEEDS_TEMPLATES and not engine_available():
        pytest.skip(f"{name} needs the template engine (metricslib.collector.template)")
    cwd = os.getcwd()
    os.chdir(PROMTOOL)
    try:
        assert main(["test", "rules", *flags, name]) == status, capsys.readouterr()
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    assert f"Unit Testing:  {name}" in captured.out
    assert ("SUCCESS" in captured.out) == (status == 0)


def write(tmp_path: Path, rules: str, tests: str) -> str:
    (tmp_path / "rules.yml").write_text(textwrap.dedent(rules))
    path = tmp_path / "test.yml"
    path.write_text(textwrap.dedent(tests))
    return str(path)


RULES = """
    groups:
      - name: g
        rules:
          - record: job:up:sum
            expr: sum by (job) (up)
          - alert: Down
            expr: up == 0
            for: 2m
            labels: {severity: page}
"""


def test_alerts_and_recorded_series(tmp_path: Path) -> None:
    path = write(tmp_path, RULES, """
        rule_files: [rules.yml]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              - series: 'up{job="a", instance="1"}'
                values: '1 1 0 0 0 0'
            alert_rule_test:
              - eval_time: 3m
                alertname: Down
                exp_alerts: []
              - eval_time: 4m
                alertname: Down
                exp_alerts:
                  - exp_labels: {job: a, instance: "1", severity: page}
            promql_expr_test:
              - expr: job:up:sum
                eval_time: 5m
                exp_samples:
                  - labels: 'job:up:sum{job="a"}'
                    value: 0
    """)
    out, err = io.StringIO(), io.StringIO()
    assert run_tests([path], out=out, err=err) == 0, err.getvalue()
    assert out.getvalue() == f"Unit Testing:  {path}\n  SUCCESS\n\n"


def test_a_failure_shows_expected_and_got(tmp_path: Path) -> None:
    path = write(tmp_path, RULES, """
        rule_files: [rules.yml]
        tests:
          - name: wrong
            input_series:
              - series: 'up{job="a"}'
                values: '0x5'
            alert_rule_test:
              - eval_time: 1m
                alertname: Down
                exp_alerts:
                  - exp_labels: {job: a, severity: page}
            promql_expr_test:
              - expr: up
                eval_time: 0
                exp_samples:
                  - labels: 'up{job="a"}'
                    value: 1
    """)
    out, err = io.StringIO(), io.StringIO()
    assert run_tests([path], out=out, err=err) == 1
    assert err.getvalue().splitlines() == [
        "  FAILED:",
        "    name: wrong,",
        "    alertname: Down, time: 1m, ",
        "        exp:[",
        "            0:",
        '              Labels:{alertname="Down", job="a", severity="page"}',
        "              Annotations:{}",
        "            ], ",
        "        got:[]",
        "    name: wrong,",
        '    expr: "up", time: 0s,',
        '        exp: {__name__="up", job="a"} 1E+00',
        '        got: {__name__="up", job="a"} 0E+00',
    ]


def test_rule_evaluation_errors_stop_the_group(tmp_path: Path) -> None:
    path = write(tmp_path, "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: a + on(x) b\n", """
        rule_files: [rules.yml]
        tests:
          - input_series:
              - {series: 'a{x="1"}', values: '1'}
              - {series: 'b{x="1", y="1"}', values: '1'}
              - {series: 'b{x="1", y="2"}', values: '1'}
    """)
    err = io.StringIO()
    assert run_tests([path], out=io.StringIO(), err=err) == 1
    assert "    rule: r, time: 0s, err: found duplicate series for the match group" in err.getvalue()


def test_histogram_groups_are_skipped_and_named(tmp_path: Path) -> None:
    path = write(tmp_path, "groups: []\n", """
        tests:
          - name: hist
            input_series:
              - {series: h, values: '{{sum:1 count:1}}'}
    """)
    err = io.StringIO()
    assert run_tests([path], out=io.StringIO(), err=err) == 0
    assert 'SKIPPED test group hist: {__name__="h"}: native histogram' in err.getvalue()


def test_the_worked_example_in_the_docs_passes(tmp_path: Path) -> None:
    import re

    if not engine_available():
        pytest.skip("the example's annotation needs the template engine (metricslib.collector.template)")
    doc = (Path(__file__).parents[3] / "docs" / "rules.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "gallery.yml").write_text(blocks[1])
    (tmp_path / "tests.yml").write_text(blocks[2])
    err = io.StringIO()
    assert run_tests([str(tmp_path / "tests.yml")], out=io.StringIO(), err=err) == 0, err.getvalue()
