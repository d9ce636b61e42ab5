"""``metricslib check rules``: the conformance files accepted or rejected as promtool does."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from metricslib.cli import main
from metricslib.collector.rules.check import check_rules_cli
from metricslib.collector.rules.templates import engine_available
from tests.helpers import CONFORMANCE_DIR, require_conformance, require_tool

RULEFMT = sorted((CONFORMANCE_DIR / "rules" / "rulefmt").glob("*.yaml"))
PROMTOOL_CHECKED = ["rules.yml", "rules-bad.yml", "rules_duplicates.yml", "rules_large.yml",
                    "prometheus-rules.lint.yml"]
# Needs the template engine to see the misspelt $label.
NEEDS_TEMPLATES = {"rules-bad.yml"}


def run(files: list[str], **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_rules_cli(files, out=out, err=err, **kw)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def _expected_by_name(path: Path) -> int:
    if path.name.endswith(".bad.yaml"):
        return 1
    return 0


@pytest.mark.parametrize("path", RULEFMT, ids=[p.name for p in RULEFMT])
def test_rulefmt_files_follow_their_names(path: Path) -> None:
    require_conformance("rules")
    # utf-8_* files are Prometheus 3 cases (UTF-8 names); the rest hold under both rule sets.
    modes = [True] if path.name.startswith("utf-8") else [False] if path.name.startswith("legacy") else [False, True]
    for utf8 in modes:
        code, _, err = run([str(path)], utf8_names=utf8)
        assert code == _expected_by_name(path), err
        if code:
            assert str(path) in err and ("group" in err or "line" in err)


def _conformance_files() -> list[Path]:
    return RULEFMT + [CONFORMANCE_DIR / "rules" / "promtool" / n for n in PROMTOOL_CHECKED]


@pytest.mark.parametrize("path", _conformance_files(), ids=lambda p: p.name)
def test_same_output_and_exit_status_as_promtool(path: Path) -> None:
    require_conformance("rules")
    promtool = require_tool("promtool", "prometheus")
    if path.name in NEEDS_TEMPLATES and not engine_available():
        pytest.skip(f"{path.name} needs the template engine (metricslib.collector.template)")
    theirs = subprocess.run([promtool, "check", "rules", path.name], cwd=path.parent, capture_output=True,
                            text=True, timeout=60, check=False)
    code, out, err = _run_in(path)
    assert (code, out, err) == (theirs.returncode, theirs.stdout, theirs.stderr)


def _run_in(path: Path) -> tuple[int, str, str]:
    import os

    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        return run([path.name])
    finally:
        os.chdir(cwd)


def test_lint_fatal_exits_3_and_lint_none_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "dup.yml"
    path.write_text("groups:\n  - name: g\n    rules:\n" + "      - record: r\n        expr: '1'\n" * 2)
    assert run([str(path)])[0] == 0
    code, _, err = run([str(path)], lint_fatal=True)
    assert code == 3 and "Metric: r" in err
    code, out, err = run([str(path)], lint="none", lint_fatal=True)
    assert (code, err) == (0, "") and "SUCCESS: 2 rules found" in out


def test_one_bad_file_fails_the_run_and_the_others_are_still_checked(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: '1'\n")
    bad.write_text("groups:\n  - name: g\n    rules:\n      - record: r\n")
    code, out, err = run([str(bad), str(good)])
    assert code == 1 and "SUCCESS: 1 rules found" in out and "field 'expr' must be set" in err


def test_cli_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "rules", str(tmp_path / "missing.yml")]) == 1
    assert "does not exist" in capsys.readouterr().err
