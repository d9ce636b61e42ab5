"""``parse_template`` and ``Template``: a parsed template set, ready to execute."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metricslib.collector.template.builtins import BUILTINS
from metricslib.collector.template.executor import execute
from metricslib.collector.template.functions import GoFunc, as_go_func
from metricslib.collector.template.parser import parse

__all__ = ["Template", "parse_template"]


class Template:
    """A parsed template and the ones it defines (``define``/``block``).

    ``execute`` runs the main one (or ``name``); ``missing_zero`` is Go's
    ``missingkey=zero`` option (a missing map key is the element's zero value,
    ``""`` for labels) rather than the default ``<no value>``.
    """

    def __init__(self, name: str, text: str, trees: Mapping[str, Any], funcs: Mapping[str, GoFunc],
                 *, missing_zero: bool = False) -> None:  # fmt: skip
        self.name = name
        self.text = text
        self.trees = dict(trees)
        self.funcs = funcs
        self.missing_zero = missing_zero

    @property
    def defined(self) -> list[str]:
        """Names of the templates this text defines, the main one included, sorted."""
        return sorted(self.trees)

    def execute(
        self, data: Any, *, name: str | None = None, funcs: Mapping[str, GoFunc] | None = None
    ) -> str:
        """The text with ``.`` set to ``data``; an execution error is a ``TemplateError``.

        ``funcs`` replaces functions for this execution only (functions bound
        to one evaluation, such as ``query``); parsing checked their names.
        """
        table = self.funcs if funcs is None else {**self.funcs, **funcs}
        return execute(self.trees, table, self.name, self.text, name or self.name, data,
                       missing_zero=self.missing_zero)  # fmt: skip


def parse_template(name: str, text: str, funcs: Mapping[str, Callable[..., Any]] | None = None,
                   *, missing_zero: bool = False) -> Template:  # fmt: skip
    """Parse ``text``; an unknown function or variable is a ``TemplateError`` here, not at execution.

    ``funcs`` adds to (and may replace) text/template's builtins: plain
    callables take any arguments; a ``GoFunc`` declares Go parameter types.
    """
    table: dict[str, GoFunc] = dict(BUILTINS)
    for fname, fn in (funcs or {}).items():
        table[fname] = as_go_func(fn)
    trees = parse(name, text, table.__contains__)
    return Template(name, text, trees, table, missing_zero=missing_zero)
