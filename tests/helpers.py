"""Shared test plumbing: real tools, free ports, servers stopped by their PID.

Tests that need a real program (prometheus, promtool, gunicorn, ...) call
``require_tool``: on a developer's machine without it they skip with the
Debian package to install; under ``CI=true`` a missing tool fails instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = REPO_ROOT.parent / "shared" / "conformance"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_tool(binary: str, package: str) -> str:
    """Path to ``binary``; skip (or fail under CI) when it is not installed."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary!r} not found: install the Debian package {package!r}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_conformance(name: str) -> Path:
    """The shared conformance folder ``name``; skip outside CI when it is absent."""
    path = CONFORMANCE_DIR / name
    if not path.is_dir():
        message = f"conformance suite not found at {path} (it lives in ../shared/)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 2xx; fail with the process output if it died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"process exited with {proc.returncode} before {url} answered:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if 200 <= resp.status < 300:
                    return
        except urllib.error.HTTPError as exc:  # e.g. 503 while starting: close it, try again
            exc.close()
            last = exc
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s: {last}")


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a process we started, by its PID: SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


@contextmanager
def running(
    cmd: Sequence[str],
    *,
    ready_url: str | None = None,
    timeout: float = 30.0,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` for the duration of the block, waiting for ``ready_url`` first."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        if ready_url is not None:
            wait_for_http(ready_url, timeout=timeout, proc=proc)
        yield proc
    finally:
        stop_process(proc)
        if proc.stdout is not None:
            proc.stdout.close()


PYTHON = sys.executable
