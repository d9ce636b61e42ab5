"""Nodes print as Go's parse nodes do: execution errors quote them (``at <...>``)."""

from __future__ import annotations

from metricslib.collector.template.nodes import (
    ActionNode,
    BranchNode,
    ChainNode,
    CommandNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)


def test_command_and_pipeline_forms() -> None:
    inner = PipeNode(
        0,
        1,
        cmds=[CommandNode(0, 1, [IdentifierNode(0, 1, "query"), StringNode(0, 1, '"up"', "up")])],
    )
    cmd = CommandNode(0, 1, [IdentifierNode(0, 1, "len"), inner])
    pipe = PipeNode(
        0,
        1,
        decl=[VariableNode(0, 1, ["$n"])],
        cmds=[cmd, CommandNode(0, 1, [IdentifierNode(0, 1, "print")])],
    )
    assert str(pipe) == '$n := len (query "up") | print'
    pipe.is_assign = True
    assert str(ActionNode(0, 1, pipe)) == '{{$n = len (query "up") | print}}'


def test_field_variable_and_chain_forms() -> None:
    assert str(FieldNode(0, 1, ["Labels", "job"])) == ".Labels.job"
    assert str(VariableNode(0, 1, ["$labels", "job"])) == "$labels.job"
    inner = PipeNode(0, 1, cmds=[CommandNode(0, 1, [NumberNode(0, 1, "1")])])
    assert str(ChainNode(0, 1, inner, ["x", "y"])) == "(1).x.y"


def test_control_forms() -> None:
    body = ListNode(0, 1, [TextNode(0, 1, "a")])
    pipe = PipeNode(0, 1, cmds=[CommandNode(0, 1, [FieldNode(0, 1, ["A"])])])
    assert (
        str(BranchNode(0, 1, "if", pipe, body, ListNode(0, 1, [TextNode(0, 1, "b")])))
        == "{{if .A}}a{{else}}b{{end}}"
    )
    assert str(BranchNode(0, 1, "range", pipe, body)) == "{{range .A}}a{{end}}"
    assert str(TemplateNode(0, 1, "t", None)) == '{{template "t"}}'
    assert str(TemplateNode(0, 1, 'a"b', pipe)) == '{{template "a\\"b" .A}}'
