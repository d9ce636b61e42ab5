"""Real TLS clients for the web config tests: curl, run with a bounded time."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import require_tool


@dataclass(frozen=True)
class CurlResult:
    exit_code: int  # curl's: 0 when an HTTP answer came back, whatever its status
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    stderr: str


def curl(url: str, *args: str | Path, tmp: Path) -> CurlResult:
    """One request with ``curl`` (``args`` e.g. ``--cacert``, ``-u``, ``--cert``)."""
    binary = require_tool("curl", "curl")
    head, body = tmp / "curl-head", tmp / "curl-body"
    for f in (head, body):
        f.unlink(missing_ok=True)
    result = subprocess.run(
        [binary, "-sS", "--max-time", "10", "-D", str(head), "-o", str(body), *map(str, args), url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    status, headers = 0, {}
    if head.exists():
        lines = head.read_text(encoding="latin-1").splitlines()
        if lines and lines[0].startswith("HTTP/"):
            status = int(lines[0].split()[1])
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
    return CurlResult(result.returncode, status, headers, body.read_bytes() if body.exists() else b"", result.stderr)


def wait_for_curl(url: str, *args: str | Path, tmp: Path, timeout: float = 30.0) -> None:
    """Until ``url`` answers 200 to curl with ``args``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = curl(url, *args, tmp=tmp)
        if last.status == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s: {last}")
