"""How a template function is declared: Go parameter types, so calls are checked as Go checks them.

A function with typed parameters gets Go's conversions and messages
(``wrong type for value; expected float64; got string``, ``wrong number of
args for humanize: want 1 got 2``); a plain Python callable given to
``parse_template`` takes any arguments, as a Go ``...interface{}`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GoFunc", "as_go_func"]

# Go parameter types the executor knows how to check: "any", "string", "float64",
# "int", "bool", and opaque names ("*template.sample", "template.queryResult")
# whose values are checked by the ``accepts`` callable.


@dataclass(frozen=True)
class GoFunc:
    """A template function: the Python callable and its Go signature.

    ``params`` are the fixed parameter types, ``variadic`` the type of a
    trailing ``...T`` parameter; ``lazy`` functions (``and``, ``or``)
    receive zero-argument callables that evaluate each argument on demand.
    ``accepts`` checks values for the opaque type names.
    """

    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    lazy: bool = False
    accepts: Mapping[str, Callable[[Any], bool]] | None = None

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def as_go_func(value: GoFunc | Callable[..., Any]) -> GoFunc:
    """A ``GoFunc`` as is; any other callable as ``func(...interface{}) (interface{}, error)``."""
    if isinstance(value, GoFunc):
        return value
    return GoFunc(value, (), "any")
