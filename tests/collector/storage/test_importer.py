from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.storage import open_storage
from metricslib.collector.storage.importer import import_cli, import_file

OM = """# TYPE http_requests counter
# HELP http_requests Requests.
http_requests_total{code="200",path="/a b"} 1 1700000000.000
http_requests_total{code="500"} 0 1700000000.000
http_requests_total{code="200",path="/a b"} 3 1700000015.000
http_requests_total{code="500"} 2 1700000015.5 # {trace_id="x"} 1 1700000015.4
# TYPE temp gauge
temp 21.5 1700000000.001
temp NaN 1700000015.002
temp +Inf 1700000030.003
# EOF
"""


def _select(data_dir: Path, name: str) -> dict[str, tuple[list[int], list[float]]]:
    store = open_storage(data_dir, background=False, retention_ms=2**62)
    try:
        got = store.querier().select([Matcher("__name__", "=", name)], 0, 2**62)
        return {repr(dict(s.labels)): (s.timestamps.tolist(), s.values.tolist()) for s in got}
    finally:
        store.close()


def test_openmetrics_file_is_imported_with_exact_times(tmp_path: Path) -> None:
    f = tmp_path / "in.om"
    f.write_text(OM)
    result = import_file(tmp_path / "data", f)
    assert (result.samples, result.series, result.new_series) == (7, 3, 3)
    got = _select(tmp_path / "data", "http_requests_total")
    assert got[repr({"__name__": "http_requests_total", "code": "500"})] == (
        [1_700_000_000_000, 1_700_000_015_500],
        [0.0, 2.0],
    )
    assert got[repr({"__name__": "http_requests_total", "code": "200", "path": "/a b"})][1] == [1.0, 3.0]
    temp = _select(tmp_path / "data", "temp")[repr({"__name__": "temp"})]
    assert temp[0] == [1_700_000_000_001, 1_700_000_015_002, 1_700_000_030_003]
    assert temp[1][0] == 21.5 and np.isnan(temp[1][1]) and temp[1][2] == float("inf")


def test_bad_file_writes_nothing(tmp_path: Path) -> None:
    f = tmp_path / "bad.om"
    f.write_text("a 1 1\na 2 2\nzzz{ 1 1\n# EOF\n")
    assert import_cli(str(tmp_path / "data"), str(f), None, progress=False) == 1
    store = open_storage(tmp_path / "data", background=False)
    try:
        assert store.stats().samples == 0
    finally:
        store.close()


def test_reimport_is_idempotent_and_overlap_keeps_stored_values(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = tmp_path / "1.om"
    first.write_text("".join(f"m {i} {1700000000 + i * 15}\n" for i in range(100)) + "# EOF\n")
    import_file(data, first)
    import_file(data, first)
    second = tmp_path / "2.om"
    second.write_text("".join(f"m -1 {1700000000 + i * 15}\n" for i in range(50, 150)) + "# EOF\n")
    import_file(data, second)
    ts, vs = _select(data, "m")[repr({"__name__": "m"})]
    assert ts == [1_700_000_000_000 + i * 15_000 for i in range(150)]
    assert vs == [float(i) for i in range(100)] + [-1.0] * 50


def test_cli_prints_a_summary_and_errors_with_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "in.om"
    f.write_text(OM)
    proc = subprocess.run(
        [sys.executable, "-m", "metricslib", "import", "--data-dir", str(tmp_path / "d"), str(f)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported 7 samples of 3 series (3 new)" in proc.stdout
    assert "\r" not in proc.stderr  # not a terminal: no progress bar
    bad = tmp_path / "bad.txt"
    bad.write_text("ok 1 1\nbroken{ 2 2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "metricslib", "import", "--data-dir", str(tmp_path / "d"), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"{bad}:2:" in proc.stderr and "nothing imported" in proc.stderr


def test_data_dir_in_use_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "in.om"
    f.write_text(OM)
    store = open_storage(tmp_path / "d", background=False)
    try:
        assert import_cli(str(tmp_path / "d"), str(f), None, progress=False) == 2
    finally:
        store.close()


def test_cli_progress_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--progress draws the bar even without a terminal; --no-progress never does."""
    from metricslib.cli import main

    data = tmp_path / "in.om"
    data.write_text("# TYPE x gauge\nx 1 1700000000\nx 2 1700000015\n# EOF\n")
    assert main(["import", "--progress", "--data-dir", str(tmp_path / "a"), str(data)]) == 0
    assert "100.0%" in capsys.readouterr().err
    assert main(["import", "--no-progress", "--data-dir", str(tmp_path / "b"), str(data)]) == 0
    captured = capsys.readouterr()
    assert "writing [" not in captured.err
    assert "imported 2 samples" in captured.out + captured.err
