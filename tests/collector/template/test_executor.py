"""Executing templates: Go's control flow, scoping, data access and error reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.template import TemplateError, parse_template


def run(text: str, data: Any = None, **kwargs: Any) -> str:
    return parse_template("t", text, **kwargs).execute(data)


@dataclass
class Point:
    x_value: int
    label: str


def test_if_else_if_else() -> None:
    text = "{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }}"
    assert [run(text, n) for n in (1, 2, 3)] == ["one", "two", "many"]


@pytest.mark.parametrize(
    ("value", "truth"),
    [(0, False), (1, True), (0.0, False), ("", False), ("x", True), (None, False), ([], False), ([0], True),
     ({}, False), ({"a": "b"}, True), (False, False), (Point(0, ""), True)],
)  # fmt: skip
def test_go_truth(value: Any, truth: bool) -> None:
    assert run("{{ if . }}T{{ else }}F{{ end }}", value) == ("T" if truth else "F")


def test_range_over_list_map_and_nothing() -> None:
    assert run("{{ range $i, $e := . }}{{ $i }}={{ $e }} {{ end }}", ["a", "b"]) == "0=a 1=b "
    assert (
        run("{{ range $k, $v := . }}{{ $k }}={{ $v }} {{ end }}", {"b": "2", "a": "1"})
        == "a=1 b=2 "
    )
    assert run("{{ range $e := . }}{{ $e }}{{ end }}", ["x", "y"]) == "xy"
    assert run("{{ range . }}x{{ else }}empty{{ end }}", []) == "empty"
    assert run("{{ range .Missing }}x{{ else }}none{{ end }}", {}) == "none"


def test_range_break_and_continue() -> None:
    text = "{{ range . }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}"
    assert run(text, [1, 2, 3, 4, 5]) == "13"


def test_range_cannot_iterate_over_a_number() -> None:
    with pytest.raises(
        TemplateError,
        match=r"^template: t:1:9: executing \"t\" at <5>: range can't iterate over 5$",
    ):
        run("{{ range 5 }}{{ end }}")


def test_with_sets_dot_and_else() -> None:
    assert run("{{ with .a }}[{{ . }}]{{ else }}none{{ end }}", {"a": "x"}) == "[x]"
    assert run("{{ with .a }}[{{ . }}]{{ else }}none{{ end }}", {"a": ""}) == "none"
    assert run("{{ with $v := .a }}{{ $v }}{{ end }}", {"a": "y"}) == "y"


def test_variables_declare_assign_and_dollar() -> None:
    assert run("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}") == "2"
    assert run("{{ $x := 1 }}{{ if true }}{{ $x := 3 }}{{ end }}{{ $x }}") == "1"
    assert run("{{ range .x }}{{ $.name }}{{ . }}{{ end }}", {"name": "n", "x": [1, 2]}) == "n1n2"
    assert run("{{ with .a }}{{ $.b }}{{ end }}", {"a": "1", "b": "root"}) == "root"


def test_assigning_an_undeclared_variable_fails_when_executed() -> None:
    with pytest.raises(TemplateError, match="undefined variable: \\$y"):
        run("{{ $y = 1 }}")


def test_pipelines_pass_the_value_as_the_last_argument() -> None:
    assert run('{{ "b" | printf "%s-%s" "a" }}') == "a-b"
    assert run("{{ .a | len | printf `%03d` }}", {"a": [1, 2]}) == "002"
    assert run("{{ (len .a) }}{{ (.m).k }}", {"a": "ab", "m": {"k": "v"}}) == "2v"
    with pytest.raises(TemplateError, match="can't evaluate field Missing in type string"):
        run("{{ (printf `x`).Missing }}")


def test_fields_on_maps_and_dataclasses() -> None:
    assert run("{{ .Labels.job }}", {"Labels": {"job": "api"}}) == "api"
    assert run("{{ .XValue }}/{{ .Label }}", Point(3, "p")) == "3/p"
    with pytest.raises(TemplateError, match="can't evaluate field x_value in type struct"):
        run("{{ .x_value }}", Point(3, "p"))


def test_missing_keys_with_and_without_missingkey_zero() -> None:
    assert run("{{ .a.b }}", {"a": {"c": "d"}}) == "<no value>"
    assert run("{{ .a.b }}", {"a": {"c": "d"}}, missing_zero=True) == ""
    assert run("{{ .a.b.c }}", {}) == "<no value>"


def test_field_of_nil_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r"nil pointer evaluating interface \{\}\.b"):
        run("{{ .a.b }}", {"a": None})


def test_define_template_block() -> None:
    text = '{{ define "item" }}<{{ . }}>{{ end }}{{ range . }}{{ template "item" . }}{{ end }}{{ block "tail" 0 }}!{{ end }}'
    assert run(text, [1, 2]) == "<1><2>!"


def test_templates_do_not_inherit_variables() -> None:
    with pytest.raises(TemplateError, match='undefined variable "\\$x"'):
        run('{{ define "d" }}{{ $x }}{{ end }}{{ $x := 1 }}{{ template "d" }}')


def test_unknown_template_at_execution() -> None:
    with pytest.raises(TemplateError, match='template "nope" not defined'):
        run('{{ template "nope" }}')


def test_endless_recursion_is_reported_not_a_crash() -> None:
    with pytest.raises(TemplateError, match=r"exceeded maximum template depth \(100000\)"):
        run('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}')


def test_function_errors_name_the_command() -> None:
    def boom(x: Any) -> str:
        raise ValueError("it broke")

    with pytest.raises(TemplateError) as caught:
        run("line\n  {{ boom 1 }}", funcs={"boom": boom})
    assert (
        str(caught.value)
        == 'template: t:2:5: executing "t" at <boom 1>: error calling boom: it broke'
    )
    assert caught.value.line == 2 and caught.value.col == 5


def test_user_functions_take_any_arguments() -> None:
    assert (
        run("{{ join . `,` }}", ["a", "b"], funcs={"join": lambda xs, sep: sep.join(xs)}) == "a,b"
    )


def test_nil_is_not_a_command_and_not_a_function_with_arguments() -> None:
    with pytest.raises(TemplateError, match="nil is not a command"):
        run("{{ nil }}")
    with pytest.raises(TemplateError, match="can't give argument to non-function 1"):
        run("{{ 1 2 }}")


def test_and_or_stop_at_the_deciding_argument() -> None:
    calls: list[int] = []

    def mark(n: int) -> int:
        calls.append(n)
        return n

    assert (
        run("{{ and (mark 0) (mark 1) }}|{{ or (mark 2) (mark 3) }}", funcs={"mark": mark}) == "0|2"
    )
    assert calls == [0, 2]


def test_printing_values_as_go_does() -> None:
    assert run("{{ . }}", 1e6) == "1e+06"
    assert run("{{ . }}", {"b": 1, "a": [1.5, "x"]}) == "map[a:[1.5 x] b:1]"
    assert run("{{ . }}", None) == "<nil>"
    assert run("{{ .x }}", {"x": True}) == "true"


@given(st.text().filter(lambda s: "{{" not in s))
def test_text_without_actions_is_returned_unchanged(text: str) -> None:
    assert run(text) == text


@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_integer_constants_print_as_written(n: int) -> None:
    assert run(f"{{{{ {n} }}}}") == str(n)
