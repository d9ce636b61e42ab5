"""``parse_template`` and ``Template``: the general entry points."""

from __future__ import annotations

import pytest

from metricslib.collector.template import Template, TemplateError, parse_template
from metricslib.collector.template.functions import GoFunc


def test_parse_once_execute_many() -> None:
    template = parse_template("greeting", "Hello {{ .name }}!")
    assert isinstance(template, Template)
    assert [template.execute({"name": n}) for n in ("a", "b")] == ["Hello a!", "Hello b!"]


def test_unknown_functions_fail_at_parse_time_with_the_name() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("__alert_HighErrors", "{{ humanise 1 }}")
    assert str(caught.value) == 'template: __alert_HighErrors:1: function "humanise" not defined'
    assert isinstance(caught.value, ValueError)


def test_named_templates_can_be_executed() -> None:
    template = parse_template("main", '{{ define "row" }}<{{ . }}>{{ end }}main')
    assert template.defined == ["main", "row"]
    assert template.execute(3, name="row") == "<3>"
    with pytest.raises(TemplateError, match='no template "nope" associated with template "main"'):
        template.execute(1, name="nope")


def test_typed_functions_are_checked_as_go_checks_them() -> None:
    double = GoFunc(lambda x: x * 2, ("float64",))
    template = parse_template("t", "{{ double . }}", {"double": double})
    assert template.execute(1.5) == "3"
    with pytest.raises(TemplateError, match="wrong type for value; expected float64; got string"):
        template.execute("x")
    assert parse_template("t", "{{ double 2 }}", {"double": double}).execute(None) == "4"


def test_functions_can_be_replaced_for_one_execution() -> None:
    template = parse_template("t", "{{ now }}", {"now": lambda: "parse-time"})
    assert template.execute(None, funcs={"now": GoFunc(lambda: "bound")}) == "bound"
    assert template.execute(None) == "parse-time"


def test_builtins_can_be_overridden() -> None:
    assert parse_template("t", "{{ len . }}", {"len": lambda x: "custom"}).execute([1]) == "custom"
