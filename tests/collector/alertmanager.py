"""A real Alertmanager (Debian ``prometheus-alertmanager``) for integration tests, and its webhook.

``webhook_receiver`` runs an HTTP server in the test that collects what
Alertmanager's webhook receiver posts: resolved alerts are only seen there,
since Alertmanager's API stops listing an alert once it is resolved.
``running_alertmanager`` starts Alertmanager on 127.0.0.1 (a free port,
clustering off, stopped by PID) routing every alert to that webhook at once.
"""

from __future__ import annotations

import datetime
import http.server
import json
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.helpers import free_port, http_get, require_tool, running

__all__ = ["Webhook", "am_alerts", "parse_time", "running_alertmanager", "wait_for", "webhook_receiver"]

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def parse_time(text: str) -> float:
    """An RFC 3339 time as Alertmanager writes it, in Unix seconds."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Webhook:
    """Collects what Alertmanager's webhook receiver posts."""

    url: str = ""
    payloads: list[dict[str, Any]] = field(default_factory=list)

    def alerts(self, status: str) -> list[dict[str, Any]]:
        """Every alert of every notification so far with this ``status`` (firing or resolved)."""
        return [a for p in list(self.payloads) for a in p["alerts"] if a["status"] == status]


@contextmanager
def webhook_receiver() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.payloads.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_alertmanager(directory: Path, webhook_url: str, group_by: Sequence[str] = ("alertname",)) -> Iterator[str]:
    """A real Alertmanager whose one receiver is ``webhook_url``; yields its host:port.

    Notifications go out at once and then at most every second (group_wait 0s,
    group_interval 1s), resolved ones included."""
    binary = require_tool("prometheus-alertmanager", "prometheus-alertmanager")
    config = directory / "alertmanager.yml"
    config.write_text(textwrap.dedent(f"""\
        route:
          receiver: hook
          group_by: {json.dumps(list(group_by))}
          group_wait: 0s
          group_interval: 1s
          repeat_interval: 1h
        receivers:
        - name: hook
          webhook_configs:
          - url: {webhook_url}
            send_resolved: true
        """))
    (directory / "am-data").mkdir()
    address = f"127.0.0.1:{free_port()}"
    cmd = [binary, f"--config.file={config}", f"--web.listen-address={address}",
           "--cluster.listen-address=", f"--storage.path={directory / 'am-data'}"]
    with running(cmd, ready_url=f"http://{address}/-/ready", timeout=30):
        yield address


def am_alerts(address: str, **params: str) -> list[dict[str, Any]]:
    """Alertmanager's ``/api/v2/alerts`` (filters such as ``active="true"`` as keywords)."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    status, _, body = http_get(f"http://{address}/api/v2/alerts{query}")
    assert status == 200, body
    result: list[dict[str, Any]] = json.loads(body)
    return result
