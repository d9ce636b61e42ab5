from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricslib.collector.model import make_labels
from metricslib.collector.storage.backfill import read_file_parallel, read_samples
from metricslib.errors import ParseError


def _read(text: str, fmt: str = "openmetrics") -> list[tuple[object, list[int], list[float]]]:
    series, _ = read_samples(io.StringIO(text), fmt)
    return [(lab, t.tolist(), v.tolist()) for lab, t, v in series]


def test_text_format_uses_millisecond_timestamps() -> None:
    got = _read("# TYPE a gauge\na{x=\"1\"} 5 1700000000123\na{x=\"1\"}\t6   1700000000124\n", "text")
    assert got == [(make_labels({"__name__": "a", "x": "1"}), [1700000000123, 1700000000124], [5.0, 6.0])]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a 1 1\n# EOF\na 2 2\n", 3, "after '# EOF'"),
        ("a 1 1\n", 1, "must end with '# EOF'"),
        ("a 1 1\n\na 2 2\n# EOF\n", 2, "blank lines"),
        ("a 1 1\na 2\n# EOF\n", 2, "no timestamp"),
        ("a 1 1\nb{x=1} 2 2\n# EOF\n", 2, "b"),
        ("a 1 1\na 1,5 2\n# EOF\n", 2, "invalid value"),
        ("a 1 1\na 2 soon\n# EOF\n", 2, "invalid timestamp 'soon'"),
        ("a 1 5\nb 1 1\na 2 4\n# EOF\n", 3, "older than 5000 ms on line 1"),
        ("a 1 5\na 2 5\n# EOF\n", 2, "appears again with value 2.0"),
        ("# TYPE a nonsense\na 1 1\n# EOF\n", 1, "metadata line"),
    ],
)
def test_bad_input_names_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        _read(text)
    assert info.value.line == line


def test_line_numbers_are_right_in_later_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import metricslib.collector.storage.backfill as imp

    monkeypatch.setattr(imp, "_BLOCK", 64)  # many tiny blocks
    lines = ["# TYPE a gauge"] + [f"a {i} {i}" for i in range(1, 40)] + ["a 7 x", "# EOF"]
    with pytest.raises(ParseError, match="invalid timestamp 'x'") as info:
        _read("\n".join(lines) + "\n")
    assert info.value.line == 41
    lines[20] = "a 1 1"  # out of order, found after grouping
    with pytest.raises(ParseError, match="older than") as info:
        _read("\n".join([*lines[:-2], "# EOF"]) + "\n")
    assert info.value.line == 21
    ok = [*lines[:20], "# EOF", *lines[21:30]]  # EOF in the middle, later blocks follow
    with pytest.raises(ParseError, match="after '# EOF'") as info:
        _read("\n".join(ok) + "\n")
    assert info.value.line == 22


def test_exact_duplicates_in_the_file_are_kept_once() -> None:
    series, dups = read_samples(io.StringIO("a 1 5\na 1 5\na 2 6\n# EOF\n"), "openmetrics")
    assert dups == 1
    assert series[0][1].tolist() == [5000, 6000]


series_text = st.lists(
    st.tuples(
        st.sampled_from(["a", "b_total", "c:d"]),
        st.dictionaries(st.sampled_from(["x", "y"]), st.text("ab \"\\\n,}{#=", min_size=1, max_size=4), max_size=2),
        st.lists(st.tuples(st.integers(1, 10**6), st.one_of(st.integers(-10**9, 10**9).map(float), st.floats(allow_nan=False))), min_size=1, max_size=5),
    ),
    min_size=1,
    max_size=6,
)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=series_text)
def test_roundtrip_written_file_reads_back(data: list[tuple[str, dict[str, str], list[tuple[int, float]]]]) -> None:
    expected: dict[object, tuple[list[int], list[float]]] = {}
    out = []
    for name, labels, points in data:
        lab = make_labels({"__name__": name, **labels})
        if lab in expected:
            continue
        body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        key = f"{name}{{{body}}}" if labels else name
        ts = sorted({t for t, _ in points})
        vals = [v for _, v in points][: len(ts)]
        ts = ts[: len(vals)]
        expected[lab] = ([t for t in ts], vals)
        out += [f"{key} {v!r} {t // 1000}.{t % 1000:03d}" for t, v in zip(ts, vals, strict=True)]
    got = _read("\n".join(out).replace("inf", "Inf") + "\n# EOF\n")
    assert {lab: (t, v) for lab, t, v in got} == expected


def _big_file(path: Path, bad_line: int | None = None) -> int:
    lines = ["# TYPE m gauge"]
    for s in range(20):
        lines += [f'm{{s="{s}"}} {s * 1000 + i} {1700000000 + i * 15}' for i in range(200)]
    if bad_line is not None:
        lines[bad_line - 1] = 'm{s="1"} oops 1700000000'
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def test_parallel_read_matches_the_single_process_read(tmp_path: Path) -> None:
    f = tmp_path / "big.om"
    _big_file(f)
    with f.open() as fh:
        single, _ = read_samples(fh, "openmetrics")
    parallel, _ = read_file_parallel(f, "openmetrics", workers=3)
    assert [lab for lab, _, _ in parallel] == [lab for lab, _, _ in single]
    for (_, t1, v1), (_, t2, v2) in zip(single, parallel, strict=True):
        assert np.array_equal(t1, t2) and np.array_equal(v1, v2)


@pytest.mark.parametrize("bad_line", [2, 2000, 3990])
def test_parallel_read_reports_the_file_line(tmp_path: Path, bad_line: int) -> None:
    f = tmp_path / "big.om"
    _big_file(f, bad_line)
    with pytest.raises(ParseError, match="invalid value 'oops'") as info:
        read_file_parallel(f, "openmetrics", workers=3)
    assert info.value.line == bad_line


def test_parallel_read_checks_eof_across_stretches(tmp_path: Path) -> None:
    f = tmp_path / "big.om"
    n = _big_file(f)
    text = f.read_text().replace("# EOF\n", "")
    f.write_text(text)
    with pytest.raises(ParseError, match="must end with '# EOF'") as info:
        read_file_parallel(f, "openmetrics", workers=3)
    assert info.value.line == n - 1
    lines = text.split("\n")
    lines.insert(1000, "# EOF")
    f.write_text("\n".join(lines))
    with pytest.raises(ParseError, match="after '# EOF'") as info:
        read_file_parallel(f, "openmetrics", workers=3)
    assert info.value.line == 1002
