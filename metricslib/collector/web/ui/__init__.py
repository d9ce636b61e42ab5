"""The collector's web UI: a single static page that talks to the JSON API.

The page builds every element with ``textContent``/``setAttribute`` and never
assigns HTML strings, so label values and error messages cannot inject markup.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["page"]

_PAGES = {"/graph", "/targets", "/status"}
_STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}


@lru_cache(maxsize=16)
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static").joinpath(name).read_bytes()


def page(path: str) -> tuple[str, bytes] | None:
    """``(content type, body)`` for a UI path, or None when the path is not the UI's."""
    if path in _PAGES:
        return _STATIC_TYPES[".html"], _read("index.html")
    if path.startswith("/static/"):
        name = path[len("/static/") :]
        suffix = name[name.rfind(".") :] if "." in name else ""
        # Only plain file names: no traversal out of the static folder.
        if "/" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
            return None
        try:
            return _STATIC_TYPES[suffix], _read(name)
        except (FileNotFoundError, IsADirectoryError):
            return None
    return None
