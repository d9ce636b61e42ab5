"""The collector's malloc settings: applied on glibc Linux, skipped elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from metricslib.collector.malloc import tune_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt settings are glibc's")
def test_glibc_accepts_the_settings() -> None:
    # In a child process: the settings are process-wide and last for its lifetime.
    code = "from metricslib.collector.malloc import tune_malloc; print(tune_malloc())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "True"


def test_other_platforms_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert tune_malloc() is False

