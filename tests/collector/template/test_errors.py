"""TemplateError: a ValueError that says where, as Go does."""

from __future__ import annotations

import pytest

from metricslib.collector.template import TemplateError, parse_template


def test_parse_and_execution_errors_carry_their_place() -> None:
    with pytest.raises(TemplateError) as parsed:
        parse_template("t", "a\n{{ if }}")
    assert (parsed.value.name, parsed.value.line, parsed.value.col) == ("t", 2, None)
    with pytest.raises(ValueError) as executed:
        parse_template("t", "a\nb {{ .x.y }}").execute({"x": 1})
    assert isinstance(executed.value, TemplateError)
    assert (executed.value.line, executed.value.col) == (2, 7)
    assert (
        str(executed.value)
        == 'template: t:2:7: executing "t" at <.x.y>: can\'t evaluate field y in type int'
    )
