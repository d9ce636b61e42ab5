"""The one error type of templates, worded as Go's text/template words its errors."""

from __future__ import annotations

__all__ = ["TemplateError"]


class TemplateError(ValueError):
    """A template that does not parse or fails while executing.

    The message starts as Go's does, ``template: NAME:LINE: ...`` for parse
    errors and ``template: NAME:LINE:COL: executing "NAME" at <...>: ...`` for
    execution errors, so users see what Prometheus would have told them.
    """

    def __init__(
        self, message: str, *, name: str = "", line: int = 0, col: int | None = None
    ) -> None:
        super().__init__(message)
        self.name = name
        self.line = line
        self.col = col
