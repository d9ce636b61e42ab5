"""``promtool check metrics`` (the Prometheus project's linter) accepts our text output."""

from __future__ import annotations

import subprocess

import pytest

from metricslib import REGISTRY, generate_latest
from tests.helpers import require_tool
from tests.test_exposition import full_registry


def promtool_check(text: bytes) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool", "prometheus")
    return subprocess.run(
        [promtool, "check", "metrics"],
        input=text.decode(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("defaults", [None, {"hostname": "web-1", "region": 'eu "west"'}])
def test_every_instrument_type_passes_promtool(defaults: dict[str, str] | None) -> None:
    text = generate_latest(full_registry(defaults))
    result = promtool_check(text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


def test_default_registry_passes_promtool() -> None:
    result = promtool_check(generate_latest(REGISTRY))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


def test_promtool_does_catch_problems() -> None:
    # Guards the tests above against a promtool that accepts anything.
    result = promtool_check(b"# TYPE requests counter\nrequests 1\n")
    assert result.returncode != 0
    assert "_total" in result.stdout + result.stderr
