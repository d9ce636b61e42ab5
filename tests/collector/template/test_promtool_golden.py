"""The golden cases still hold for the installed promtool: our reference is checked, not assumed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.collector.template.golden import EXPANSIONS, PARSE_ERRORS
from tests.helpers import require_tool

pytestmark = pytest.mark.integration

SERIES = [
    {"series": 'm{instance="host1.dc1:9100",job="node"}', "values": "0.1234x5"},
    {"series": 'm{instance="host2.dc1:9100",job="api"}', "values": "1234567.5x5"},
]


def _rule_file(path: Path, annotations: dict[str, str], alert: str = "A") -> None:
    rule = {"alert": alert, "expr": 'm{job="node"}', "annotations": annotations}
    path.write_text(json.dumps({"groups": [{"name": "g", "rules": [rule]}]}), encoding="utf-8")


def test_promtool_expands_the_golden_templates_as_recorded(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "prometheus")
    annotations = {f"a{i}": text for i, (text, _) in enumerate(EXPANSIONS)}
    expected = {f"a{i}": value for i, (_, value) in enumerate(EXPANSIONS)}
    _rule_file(tmp_path / "rules.yml", annotations)
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": SERIES,
            "alert_rule_test": [{
                "eval_time": "1m", "alertname": "A",
                "exp_alerts": [{"exp_labels": {"instance": "host1.dc1:9100", "job": "node"},
                                "exp_annotations": expected}],
            }],
        }],
    }  # fmt: skip
    (tmp_path / "test.yml").write_text(json.dumps(test), encoding="utf-8")
    done = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_rejects_the_golden_bad_templates_as_recorded(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "prometheus")
    for i, (text, message) in enumerate(PARSE_ERRORS):
        _rule_file(tmp_path / "rules.yml", {"a0": text})
        done = subprocess.run(
            [promtool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 1, (i, text, done.stdout)
        assert f'annotation "a0": {message}' in done.stdout + done.stderr, (
            i,
            text,
            done.stdout + done.stderr,
        )
