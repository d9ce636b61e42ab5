"""The collector's web UI: one page shell and one script bundle that talk to the JSON API.

The bundle and the shell (``static/dist``, ``index.html`` among them) are built
from ``frontend/`` by ``make ui``; they are a build output that the wheel ships
and git ignores. The script builds every element with
``textContent``/``setAttribute`` and never assigns HTML strings, so label values
and error messages cannot inject markup.

The bundle's scripts and stylesheet carry their content hash in their names
(``app-5F8CA264.css``): browsers may keep them for good, so a page load fetches
only the shell (revalidated every time) and the data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

__all__ = ["cache_control", "page"]

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
# esbuild's [hash]: 8 characters of A-Z and 0-9.
_HASHED = re.compile(r"^dist/[a-z]+-[A-Z0-9]{8}\.(js|css)$")
_NOT_BUILT = (
    b"<!doctype html><title>metricslib collector</title><p>The web UI has not been built. "
    b"From a source checkout run <code>make ui</code> (it needs Node.js 18+ and npm); "
    b"the API is served at <a href=\"/api/v1/status/buildinfo\">/api/v1/</a>.</p>"
)


@lru_cache(maxsize=16)
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static").joinpath(name).read_bytes()


def _shell() -> bytes | None:
    """The page shell, read afresh each time: after a rebuild it names the new files."""
    try:
        return resources.files(__package__).joinpath("static").joinpath("dist").joinpath("index.html").read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def cache_control(path: str) -> str:
    """The ``Cache-Control`` of a UI answer: content-hashed files for good, the rest revalidated."""
    if path.startswith("/static/") and _HASHED.match(path[len("/static/") :]):
        return "public, max-age=31536000, immutable"
    return "no-cache"


def page(path: str) -> tuple[str, bytes] | None:
    """``(content type, body)`` for a UI path, or None when the path is not the UI's."""
    if path in _PAGES or _BOARD.match(path):
        shell = _shell()
        return _STATIC_TYPES[".html"], _NOT_BUILT if shell is None else shell
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
