"""Prometheus's PromQL test scripts, one test per script file.

Every eval outside native histograms and experimental features must pass.
Run ``.venv/bin/python -m tests.collector.promql.run_conformance`` for the
full per-eval report; here each file's report is printed (``pytest -s``), the
assertion names the failing lines, and the per-file table of the engine runs
is written to the terminal when the module finishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.promql.run_conformance import (
    DEFAULT_DIR,
    FileReport,
    RunOptions,
    default_engine_factory,
    engine_resolves_step,
    engine_supports_extended_selectors,
    format_report,
    run_file,
    skip_summary,
    summary_table,
)
from tests.helpers import require_conformance

SCRIPTS = sorted(p.name for p in DEFAULT_DIR.glob("*.test")) or ["(conformance suite missing)"]


_ENGINE_REPORTS: list[FileReport] = []


def _script(name: str) -> Path:
    return require_conformance("promql") / name


@pytest.fixture(scope="module", autouse=True)
def _print_table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if _ENGINE_REPORTS and capture is not None:
        text = summary_table(_ENGINE_REPORTS) + "\n\n" + skip_summary(_ENGINE_REPORTS)
        # Shown even without -s: the table is the point of running this module.
        with capture.global_and_fixture_disabled():
            print(f"\n\nPromQL conformance (engine):\n{text}")


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_required_expression_parses(name: str) -> None:
    """The parser alone: each required eval parses, or fails where the script expects."""
    report = run_file(_script(name), RunOptions(engine_factory=None))
    print(format_report(report, 10, verbose=False))
    assert not report.error
    assert report.failures == [], "\n".join(f"line {o.line}: {o.detail}" for o in report.failures)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_passes_against_engine(name: str) -> None:
    factory = default_engine_factory()
    if factory is None:
        pytest.skip("metricslib.collector.promql.engine does not exist yet")
    options = RunOptions(
        engine_factory=factory,
        resolves_step=engine_resolves_step(),
        extended_selectors=engine_supports_extended_selectors(),
    )
    report = run_file(_script(name), options)
    _ENGINE_REPORTS.append(report)
    print(format_report(report, 20, verbose=True))
    assert not report.error
    failed = report.failures
    assert failed == [], f"{len(failed)} evals failed:\n" + "\n".join(
        f"line {o.line}: {o.expr}\n    {o.detail}" for o in failed[:20]
    )
