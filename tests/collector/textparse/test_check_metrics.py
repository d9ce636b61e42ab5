"""``metricslib check metrics``: exit codes, every problem with its line, format choice."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from metricslib.cli import main
from tests.helpers import require_tool


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], stdin: bytes | None = None
) -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as mp:
        if stdin is not None:
            mp.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        rc = main(["check", "metrics", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def write(tmp_path: Path, text: str | bytes, name: str = "m.txt") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


def test_valid_text_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n')
    rc, out, err = run([path], capsys)
    assert (rc, err) == (0, "")
    assert out == f"{path}: OK (text format)\n"


def test_every_problem_is_listed_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "# TYPE a counter\n"
        "a 1\n"
        'b{x="1} 2\n'  # unterminated quote
        "c 1_0\n"  # underscore in a number
        "# TYPE a gauge\n"  # second TYPE
        "d 4\n"
    )
    path = write(tmp_path, text)
    rc, out, err = run([path], capsys)
    assert rc == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"{path}:3: labels of 'b': value of label 'x' has no closing quote"
    assert lines[1] == f"{path}:4: invalid value '1_0': expected a decimal number, +Inf, -Inf or NaN"
    assert lines[2] == f"{path}:5: second # TYPE line for 'a' (the first is line 1)"
    assert lines[3] == f"{path}: 3 problem(s) (text format)"


def test_format_detected_from_eof(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Valid text 0.0.4 (two spaces), invalid OpenMetrics: the # EOF decides.
    path = write(tmp_path, "a  1\n# EOF\n")
    rc, _, err = run([path], capsys)
    assert rc == 1
    assert "openmetrics format" in err
    rc, out, _ = run(["--format", "text", path], capsys)
    assert rc == 0 and "text format" in out


def test_truncated_openmetrics_is_detected_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1\n")
    rc, _, err = run([path], capsys)
    assert rc == 1
    assert f"{path}:3: missing '# EOF' at the end of OpenMetrics input" in err


def test_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["-"], capsys, stdin=b"a 1\n# EOF\n")
    assert rc == 0 and out == "<stdin>: OK (openmetrics format)\n"
    rc, _, err = run(["--format", "openmetrics", "-"], capsys, stdin=b"a 1\n")
    assert rc == 1 and "<stdin>:1: missing '# EOF'" in err


def test_unreadable_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run([str(tmp_path / "nope.txt")], capsys)
    assert rc == 2
    assert "nope.txt: cannot read" in err


def test_invalid_utf8_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, b'a 1\nb{x="\xff"} 2\n')
    rc, _, err = run([path], capsys)
    assert rc == 1
    assert f"{path}:2: not valid UTF-8" in err


def test_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "")
    assert run([path], capsys)[0] == 0  # an empty text exposition is valid
    rc, _, err = run(["--format", "openmetrics", path], capsys)
    assert rc == 1 and ":1: missing '# EOF'" in err


# Text inputs on which `promtool check metrics` (Prometheus 2.42) and we must agree
# about validity. promtool's exit status 3 means "parsed, with lint warnings".
PROMTOOL_CASES = [
    ("a 1\n", True),
    ('a{x="1",} 1\n', True),
    ('a { x = "1" } 1 -5\n', True),
    ('a{x="1"}1\n', True),
    ("\n  # free comment\n\ta\t1\n", True),
    ("a +Inf\na2 NaN\na3 -Infinity\na4 .5e-3\n", True),
    ('# HELP a x\\ny\\\\\n# TYPE a summary\na{quantile="0.5"} 1\na_sum 1\na_count 1\n', True),
    ('# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', True),
    ("a 1 \n", False),
    ("a 1 1.5\n", False),
    ("a 1_0\n", False),
    ("a 0x10\n", False),
    ("a -nan\n", False),
    ('a{x="1",x="2"} 1\n', False),
    ('a{x="\\z"} 1\n', False),
    ('a{__name__="b"} 1\n', False),
    ("a\n", False),
    ("0a 1\n", False),
    ('a{1="x"} 1\n', False),
    ('a{b:c="1"} 1\n', False),
    ("# TYPE a counter\n# TYPE a counter\na 1\n", False),
    ("# HELP a x\n# HELP a y\na 1\n", False),
    ("a 1\n# TYPE a counter\n", False),
    ("a 1\nb 1\n# TYPE a counter\n", False),
    ("# TYPE a gauge\na 1\nb 1\n# HELP a late help\n", True),
    ("# TYPE a foo\n", False),
    ("# HELP a \\x\na 1\n", False),
    ("a 1\r\n", False),
    ('# TYPE a summary\na{quantile="x"} 1\n', False),
    ('# TYPE h histogram\nh_bucket{le="one"} 1\n', False),
    ("a 1 2 3\n", False),
    ('a{x="1"} 1 99999999999999999999\n', False),
    ("a 1", False),
]


@pytest.mark.parametrize(("text", "valid"), PROMTOOL_CASES)
def test_agrees_with_promtool(
    text: str, valid: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    promtool = require_tool("promtool", "prometheus")
    theirs = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert (theirs.returncode != 1) == valid, theirs.stderr
    rc, _, err = run([write(tmp_path, text)], capsys)
    assert (rc == 0) == valid, err
