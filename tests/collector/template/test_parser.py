"""The parser: trees with Go's String() forms, and Go's parse-time errors."""

from __future__ import annotations

import pytest

from metricslib.collector.template import TemplateError
from metricslib.collector.template.builtins import BUILTINS
from metricslib.collector.template.nodes import ActionNode, BranchNode, TemplateNode, TextNode
from metricslib.collector.template.parser import parse

SAMPLES = [
    "plain text",
    '{{ $x := .Labels.job | printf "%s" }}{{ $x }}',
    "{{ if eq 1 2 }}a{{ else if .B }}b{{ else }}c{{ end }}",
    "{{ range $i, $e := .L }}{{ $i }}{{ break }}{{ end }}",
    "{{ range .L }}{{ continue }}{{ else }}none{{ end }}",
    "{{ with $v := .V }}{{ $v }}{{ end }}",
    '{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .A }}',
    "{{ (.A).B }}{{ (printf `%d` 1) | len }}",
    "{{ 'a' }}{{ 0x1F }}{{ -1.5e3 }}{{ true }}{{ nil | print }}",
]


def trees(text: str) -> dict[str, str]:
    return {name: str(tree) for name, tree in parse("t", text, BUILTINS.__contains__).items()}


@pytest.mark.parametrize("text", SAMPLES)
def test_printing_a_tree_and_parsing_it_again_is_stable(text: str) -> None:
    once = trees(text)
    assert trees(once["t"])["t"] == once["t"]


def test_go_string_forms() -> None:
    got = trees(
        '{{ $x := .A.b | printf "%d" 1 }}{{ if .X }}y{{ else }}{{ if .Z }}z{{ end }}{{ end }}'
    )
    assert got["t"] == '{{$x := .A.b | printf "%d" 1}}{{if .X}}y{{else}}{{if .Z}}z{{end}}{{end}}'


def test_else_if_shares_one_end() -> None:
    root = parse("t", "{{ if .A }}a{{ else if .B }}b{{ end }}", BUILTINS.__contains__)["t"]
    branch = root.nodes[0]
    assert isinstance(branch, BranchNode) and branch.else_body is not None
    inner = branch.else_body.nodes[0]
    assert isinstance(inner, BranchNode) and inner.keyword == "if"


def test_define_and_block_add_templates() -> None:
    got = parse(
        "t", '{{ define "a" }}A{{ end }}x{{ block "b" . }}B{{ end }}', BUILTINS.__contains__
    )
    assert sorted(got) == ["a", "b", "t"]
    assert isinstance(got["t"].nodes[1], TemplateNode)
    assert isinstance(got["a"].nodes[0], TextNode)


def test_an_empty_definition_gives_way() -> None:
    got = parse("t", '{{ define "a" }} {{ end }}{{ define "a" }}A{{ end }}', BUILTINS.__contains__)
    assert str(got["a"]) == "A"


def test_comment_only_action_is_nothing() -> None:
    root = parse("t", "a{{/* c */}}b", BUILTINS.__contains__)["t"]
    assert "".join(str(n) for n in root.nodes) == "ab"


def test_variables_are_scoped_to_their_block() -> None:
    with pytest.raises(TemplateError, match='undefined variable "\\$x"'):
        parse("t", "{{ if 1 }}{{ $x := 1 }}{{ end }}{{ $x }}", BUILTINS.__contains__)
    parse("t", "{{ $x := 1 }}{{ if 1 }}{{ $x }}{{ end }}{{ $x }}", BUILTINS.__contains__)


def test_define_bodies_do_not_see_outer_variables() -> None:
    with pytest.raises(TemplateError, match='undefined variable "\\$x"'):
        parse("t", '{{ $x := 1 }}{{ define "d" }}{{ $x }}{{ end }}', BUILTINS.__contains__)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ nope }}", 'template: t:1: function "nope" not defined'),
        ("a\n\n{{ if }}", "template: t:3: missing value for if"),
        ("{{ else }}", "template: t:1: unexpected {{else}}"),
        ("{{ range . }}", "template: t:1: unexpected EOF"),
        ("{{ continue }}", "template: t:1: {{continue}} outside {{range}}"),
        ("{{ 1 | 2 }}", "template: t:1: non executable command in pipeline stage 2"),
        ("{{ $a, $b := 1 }}", "template: t:1: too many declarations in command"),
        ('{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}', 'template: t:1: template: multiple definition of template "x"'),
        ("{{ template . }}", "template: t:1: unexpected <.> in template clause"),
        ("{{ .A.B.C", "template: t:1: unclosed action"),
    ],
)  # fmt: skip
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse("t", text, BUILTINS.__contains__)
    assert str(caught.value) == message


def test_action_positions_are_offsets_into_the_text() -> None:
    root = parse("t", "ab\n{{ .X }}", BUILTINS.__contains__)["t"]
    action = root.nodes[1]
    # As in Go, an action is placed at its first token (error columns count from there).
    assert isinstance(action, ActionNode) and action.line == 2 and action.pos == 6
