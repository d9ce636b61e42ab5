"""Function declarations: Go signatures for typed functions, any arguments for plain callables."""

from __future__ import annotations

from metricslib.collector.template.functions import GoFunc, as_go_func


def test_plain_callables_take_any_arguments() -> None:
    fn = as_go_func(lambda *a: len(a))
    assert fn.params == () and fn.variadic == "any"
    assert fn(1, 2, 3) == 3


def test_go_funcs_are_kept_and_callable() -> None:
    typed = GoFunc(lambda x: x + 1, ("int",))
    assert as_go_func(typed) is typed
    assert typed(1) == 2
