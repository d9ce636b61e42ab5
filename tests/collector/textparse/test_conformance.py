"""The OpenMetrics conformance suite, run through ``metricslib check metrics``.

Every ``shouldParse: true`` case must pass; every ``false`` case must fail with
at least one problem naming a line. The CLI runs in-process (``cli.main``) for
speed, plus two real subprocess runs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from metricslib.cli import main
from metricslib.collector.textparse.formats import ScrapeParser, check, parse_families
from tests.helpers import CONFORMANCE_DIR, PYTHON, REPO_ROOT, require_conformance

SUITE = CONFORMANCE_DIR / "openmetrics"
CASES = sorted(p.name for p in SUITE.iterdir() if (p / "test.json").is_file()) if SUITE.is_dir() else []


def _case(name: str) -> tuple[Path, bool]:
    folder = require_conformance("openmetrics") / name
    spec = json.loads((folder / "test.json").read_text())
    assert spec["type"] == "text"
    return folder / spec["file"], bool(spec["shouldParse"])


def test_suite_is_present_and_complete() -> None:
    suite = require_conformance("openmetrics")
    names = [p.name for p in suite.iterdir() if (p / "test.json").is_file()]
    # Both kinds are there, so an empty glob cannot pass for a green run.
    assert sum(n.startswith("bad_") for n in names) > 100
    assert sum(not n.startswith("bad_") for n in names) > 30


@pytest.mark.parametrize("name", CASES)
def test_check_metrics_cli(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, should_parse = _case(name)
    rc = main(["check", "metrics", "--format", "openmetrics", str(path)])
    out, err = capsys.readouterr()
    if should_parse:
        assert rc == 0, err
        assert "OK" in out
    else:
        assert rc == 1, out
        # Each problem is printed as FILE:LINE: message with a real line number.
        lines = re.findall(rf"^{re.escape(str(path))}:(\d+): \S", err, re.M)
        assert lines, err
        n_lines = path.read_bytes().count(b"\n") + 1
        assert all(1 <= int(n) <= n_lines for n in lines), err


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("bad_")])
def test_good_cases_parse_everywhere(name: str) -> None:
    path, should_parse = _case(name)
    assert should_parse
    text = path.read_text(encoding="utf-8")
    families = list(parse_families(text, "openmetrics"))
    n_samples = sum(len(f.samples) for f in families)
    # The hot path accepts what the strict parser accepts, sample for sample.
    result = ScrapeParser().parse(text, "openmetrics", {})
    assert len(result.samples) == n_samples
    values = [s.value for f in families for s in f.samples]
    assert [v for _, v, _ in result.samples] == pytest.approx(values, nan_ok=True)


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("bad_")])
def test_bad_cases_raise_parse_error_with_line(name: str) -> None:
    path, should_parse = _case(name)
    assert not should_parse
    text = path.read_text(encoding="utf-8")
    problems = check(text, "openmetrics")
    assert problems and all(p.line >= 1 for p in problems)
    with pytest.raises(ValueError, match=r"^line \d+: "):
        list(parse_families(text, "openmetrics"))


def test_real_subprocess_runs() -> None:
    good, _ = _case("simple_histogram")
    bad, _ = _case("bad_histograms_9")
    cmd = [PYTHON, "-m", "metricslib", "check", "metrics"]
    ok = subprocess.run([*cmd, str(good)], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert ok.returncode == 0, ok.stderr
    assert "openmetrics" in ok.stdout  # detected from the trailing # EOF
    no = subprocess.run(
        [*cmd, "--format", "openmetrics", "-"],
        input=bad.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert no.returncode == 1
    assert "<stdin>:3: a_bucket: bucket le='1' is out of order" in no.stderr
