"""Prometheus's PromQL test scripts, one test per script file.

Every eval outside native histograms and experimental features must pass.
Run ``.venv/bin/python -m tests.collector.promql.run_conformance`` for the
full per-eval report; here each file's table row and first failures are
printed (``pytest -s``) and the assertion names the failing lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.promql.run_conformance import (
    DEFAULT_DIR,
    RunOptions,
    default_engine_factory,
    engine_resolves_step,
    engine_supports_extended_selectors,
    format_report,
    run_file,
)
from tests.helpers import require_conformance

SCRIPTS = sorted(p.name for p in DEFAULT_DIR.glob("*.test")) or ["(conformance suite missing)"]


def _script(name: str) -> Path:
    return require_conformance("promql") / name


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
    print(format_report(report, 20, verbose=True))
    assert not report.error
    failed = report.failures
    assert failed == [], f"{len(failed)} evals failed:\n" + "\n".join(
        f"line {o.line}: {o.expr}\n    {o.detail}" for o in failed[:20]
    )
