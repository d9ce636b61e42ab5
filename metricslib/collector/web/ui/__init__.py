"""The collector's web UI: one page and one script bundle that talk to the JSON API.

The bundle (``static/dist``) is built from ``frontend/`` by ``make ui``; it is a
build output that the wheel ships and git ignores. The script builds every
element with ``textContent``/``setAttribute`` and never assigns HTML strings,
so label values and error messages cannot inject markup.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

__all__ = ["page"]

_PAGES = {"/graph", "/targets", "/status", "/dashboards", "/alerts", "/rules", "/service-discovery", "/tsdb-status"}
# Grafana's links: /d/<uid> and /d/<uid>/<slug>
_BOARD = re.compile(r"^/d/[A-Za-z0-9_.-]{1,40}(/[^/]*)?$")
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
_NOT_BUILT = (
    b"<!doctype html><title>metricslib collector</title><p>The web UI has not been built. "
    b"From a source checkout run <code>make ui</code> (it needs Node.js 18+ and npm); "
    b"the API is served at <a href=\"/api/v1/status/buildinfo\">/api/v1/</a>.</p>"
)


@lru_cache(maxsize=16)
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static").joinpath(name).read_bytes()


def _built() -> bool:
    return resources.files(__package__).joinpath("static").joinpath("dist").joinpath("app.js").is_file()


def page(path: str) -> tuple[str, bytes] | None:
    """``(content type, body)`` for a UI path, or None when the path is not the UI's."""
    if path in _PAGES or _BOARD.match(path):
        return _STATIC_TYPES[".html"], _read("index.html") if _built() else _NOT_BUILT
    if path.startswith("/static/"):
        name = path[len("/static/") :]
        if name.startswith("dist/"):
            name = name[len("dist/") :]
            folder = "dist/"
        else:
            folder = ""
        suffix = name[name.rfind(".") :] if "." in name else ""
        # Only plain file names: no traversal out of the static folder.
        if "/" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
            return None
        try:
            return _STATIC_TYPES[suffix], _read(folder + name)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
    return None
