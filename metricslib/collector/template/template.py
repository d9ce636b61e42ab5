"""``parse_template`` and ``Template``: a parsed template set, ready to execute."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Template", "parse_template"]


class Template:
    """A parsed template (and the ones it defines); ``execute`` runs the named one."""

    def __init__(self, name: str) -> None:
        self.name = name

    def execute(self, data: Any) -> str:
        raise NotImplementedError


def parse_template(name: str, text: str, funcs: Mapping[str, Callable[..., Any]] | None = None) -> Template:
    """Parse ``text``; an unknown function or variable is a ``TemplateError`` here, not at execution."""
    raise NotImplementedError
