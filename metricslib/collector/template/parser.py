"""Go text/template's parser: tokens to a tree, with Go's parse-time checks and messages.

Function names are checked here (``function "x" not defined``), and so are
variables (``undefined variable "$x"``), as Go does, so that a rule file with
a typo fails when it is loaded rather than when the alert fires.
"""

from __future__ import annotations

from collections.abc import Callable

from metricslib.collector.template.errors import TemplateError
from metricslib.collector.template.lexer import Kind, Token, lex
from metricslib.collector.template.literals import parse_number, unquote
from metricslib.collector.template.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)

__all__ = ["parse"]

_OPERAND_START = {
    Kind.BOOL,
    Kind.CHAR,
    Kind.DOT,
    Kind.FIELD,
    Kind.IDENT,
    Kind.NUMBER,
    Kind.NIL,
    Kind.RAW_STRING,
    Kind.STRING,
    Kind.VARIABLE,
    Kind.LPAREN,
}


class _End(Node):
    def __str__(self) -> str:
        return "{{end}}"


class _Else(Node):
    def __str__(self) -> str:
        return "{{else}}"


class _Parser:
    def __init__(self, name: str, text: str, has_function: Callable[[str], bool]) -> None:
        self.name = name
        self.tokens = lex(name, text)
        self.i = 0
        self.has_function = has_function
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trees: dict[str, ListNode] = {}

    # -- tokens -------------------------------------------------------------
    def error(self, message: str, token: Token | None = None) -> TemplateError:
        line = (token or self.tokens[max(self.i - 1, 0)]).line
        return TemplateError(f"template: {self.name}:{line}: {message}", name=self.name, line=line)

    def next(self) -> Token:
        token = self.tokens[self.i]
        if token.kind is Kind.ERROR:
            raise self.error(token.value, token)
        if token.kind is not Kind.EOF:
            self.i += 1
        return token

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind is Kind.SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        j = self.i
        while self.tokens[j].kind is Kind.SPACE:
            j += 1
        return self.tokens[j]

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.next_non_space()
        if token.kind is not kind:
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Token, context: str) -> TemplateError:
        if token.kind is Kind.EOF:
            return self.error(
                f"unexpected EOF in {context}" if context else "unexpected EOF", token
            )
        return self.error(f"unexpected {token.describe()} in {context}", token)

    # -- structure ----------------------------------------------------------
    def parse(self) -> dict[str, ListNode]:
        root = ListNode(0, 1)
        while self.peek().kind is not Kind.EOF:
            if self.peek().kind is Kind.LEFT:
                j = self.i + 1
                while self.tokens[j].kind is Kind.SPACE:
                    j += 1
                if self.tokens[j].kind is Kind.KEYWORD and self.tokens[j].value == "define":
                    self.i = j + 1
                    self.parse_definition()
                    continue
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                raise self.error(f"unexpected {node}")
            root.nodes.append(node)
        self.add_tree(self.name, root)
        return self.trees

    def parse_definition(self) -> None:
        context = "define clause"
        _, name = self.template_name(context)
        self.expect(Kind.RIGHT, context)
        self.definition_body(name, context)

    def template_name(self, context: str) -> tuple[Token, str]:
        """The quoted name a ``define`` or ``block`` starts with."""
        token = self.next_non_space()
        if token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.unexpected(token, context)
        return token, self.unquote(token)

    def definition_body(self, name: str, context: str) -> None:
        """A ``define``'s or ``block``'s body up to its ``end``, with a fresh ``$``, added as template ``name``."""
        outer_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = outer_vars
        if not isinstance(end, _End):
            raise self.error(f"unexpected {end} in {context}")
        self.add_tree(name, body)

    def add_tree(self, name: str, body: ListNode) -> None:
        # As Go: an empty definition gives way to a full one; two full ones are an error.
        old = self.trees.get(name)
        if old is None or _is_empty(old):
            self.trees[name] = body
        elif not _is_empty(body):
            raise self.error(f"template: multiple definition of template {_quote(name)}")

    def item_list(self) -> tuple[ListNode, Node]:
        start = self.peek_non_space()
        body = ListNode(start.pos, start.line)
        while self.peek_non_space().kind is not Kind.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return body, node
            body.nodes.append(node)
        raise self.error("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.kind is Kind.TEXT:
            return TextNode(token.pos, token.line, token.value)
        if token.kind is Kind.LEFT:
            return self.action()
        if token.kind is Kind.COMMENT:
            return TextNode(token.pos, token.line, "")
        raise self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        if token.kind is Kind.KEYWORD:
            word = token.value
            if word == "block":
                return self.block_control(token)
            if word == "break":
                return self.break_control(token, "break")
            if word == "continue":
                return self.break_control(token, "continue")
            if word == "else":
                return self.else_control(token)
            if word == "end":
                self.expect(Kind.RIGHT, "end")
                return _End(token.pos, token.line)
            if word in ("if", "range", "with"):
                return self.branch(word, token)
            if word == "template":
                return self.template_control(token)
            raise self.unexpected(token, "command")  # "define" inside a body
        self.i -= 1
        pipe = self.pipeline("command", Kind.RIGHT)
        return ActionNode(token.pos, token.line, pipe)

    def break_control(self, token: Token, word: str) -> Node:
        nxt = self.next_non_space()
        if nxt.kind is not Kind.RIGHT:
            raise self.unexpected(nxt, f"{{{{{word}}}}}")
        if self.range_depth == 0:
            raise self.error(f"{{{{{word}}}}} outside {{{{range}}}}", token)
        return (
            BreakNode(token.pos, token.line)
            if word == "break"
            else ContinueNode(token.pos, token.line)
        )

    def else_control(self, token: Token) -> Node:
        nxt = self.peek_non_space()
        if nxt.kind is Kind.KEYWORD and nxt.value in ("if", "with"):
            # "{{else if x}}" is "{{else}}{{if x}}...{{end}}" sharing one {{end}}:
            # leave the keyword for the branch that gets the else.
            return _Else(token.pos, token.line)
        self.expect(Kind.RIGHT, "else")
        return _Else(token.pos, token.line)

    def branch(self, keyword: str, token: Token) -> BranchNode:
        mark = len(self.vars)
        pipe = self.pipeline(keyword, Kind.RIGHT)
        if keyword == "range":
            self.range_depth += 1
        body, nxt = self.item_list()
        if keyword == "range":
            self.range_depth -= 1
        else_body: ListNode | None = None
        if isinstance(nxt, _Else):
            follow = self.peek_non_space()
            if (
                keyword in ("if", "with")
                and follow.kind is Kind.KEYWORD
                and follow.value == keyword
            ):
                kw = self.next_non_space()
                inner = self.branch(keyword, kw)
                else_body = ListNode(inner.pos, inner.line, [inner])
            elif follow.kind is Kind.KEYWORD and follow.value in ("if", "with"):
                raise self.unexpected(follow, "else")
            else:
                else_body, nxt = self.item_list()
                if not isinstance(nxt, _End):
                    raise self.error(f"expected end; found {nxt}")
        del self.vars[mark:]
        return BranchNode(token.pos, token.line, keyword, pipe, body, else_body)

    def template_control(self, token: Token) -> TemplateNode:
        context = "template clause"
        name_token = self.next_non_space()
        if name_token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.unexpected(name_token, context)
        name = self.unquote(name_token)
        pipe: PipeNode | None = None
        if self.next_non_space().kind is not Kind.RIGHT:
            self.i -= 1
            pipe = self.pipeline(context, Kind.RIGHT)
        return TemplateNode(name_token.pos, name_token.line, name, pipe)

    def block_control(self, token: Token) -> TemplateNode:
        context = "block clause"
        name_token, name = self.template_name(context)
        pipe = self.pipeline(context, Kind.RIGHT)
        self.definition_body(name, context)
        return TemplateNode(name_token.pos, name_token.line, name, pipe)

    # -- pipelines ----------------------------------------------------------
    def pipeline(self, context: str, end: Kind) -> PipeNode:
        first = self.peek_non_space()
        pipe = PipeNode(first.pos, first.line)
        while True:  # declarations: "$x :=", "$x =", "$i, $e :=" (range only)
            var = self.peek_non_space()
            if var.kind is not Kind.VARIABLE:
                break
            save = self.i
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in (Kind.DECLARE, Kind.ASSIGN):
                self.next_non_space()
                pipe.is_assign = nxt.kind is Kind.ASSIGN
                pipe.decl.append(VariableNode(var.pos, var.line, [var.value]))
                self.vars.append(var.value)
                break
            if nxt.kind is Kind.COMMA:
                self.next_non_space()
                pipe.decl.append(VariableNode(var.pos, var.line, [var.value]))
                self.vars.append(var.value)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (Kind.VARIABLE, Kind.RIGHT, Kind.RPAREN):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            self.i = save
            break
        while True:
            token = self.next_non_space()
            if token.kind is end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.kind in _OPERAND_START:
                self.i -= 1
                pipe.cmds.append(self.command())
                continue
            raise self.unexpected(token, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                raise self.error(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        start = self.peek_non_space()
        cmd = CommandNode(start.pos, start.line)
        while True:
            self.peek_non_space()
            while self.peek().kind is Kind.SPACE:
                self.next()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind is Kind.SPACE:
                continue
            if token.kind in (Kind.RIGHT, Kind.RPAREN):
                self.i -= 1
            elif token.kind is not Kind.PIPE:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind is Kind.FIELD:
            # Go gives the whole chain the position of its first field (error columns show it).
            pos, line = self.peek().pos, self.peek().line
            fields: list[str] = []
            while self.peek().kind is Kind.FIELD:
                fields.append(self.next().value[1:])
            if isinstance(node, FieldNode):
                return FieldNode(pos, line, node.ident + fields)
            if isinstance(node, VariableNode):
                return VariableNode(pos, line, node.ident + fields)
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                raise self.error(f"unexpected . after term {_quote(str(node))}")
            return ChainNode(pos, line, node, fields)
        return node

    def term(self) -> Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind is Kind.IDENT:
            if not self.has_function(token.value):
                raise self.error(f"function {_quote(token.value)} not defined", token)
            return IdentifierNode(token.pos, token.line, token.value)
        if kind is Kind.DOT:
            return DotNode(token.pos, token.line)
        if kind is Kind.NIL:
            return NilNode(token.pos, token.line)
        if kind is Kind.VARIABLE:
            if token.value not in self.vars:
                raise self.error(f"undefined variable {_quote(token.value)}", token)
            return VariableNode(token.pos, token.line, [token.value])
        if kind is Kind.FIELD:
            return FieldNode(token.pos, token.line, [token.value[1:]])
        if kind is Kind.BOOL:
            return BoolNode(token.pos, token.line, token.value == "true")
        if kind in (Kind.NUMBER, Kind.CHAR):
            return self.number(token)
        if kind is Kind.LPAREN:
            return self.pipeline("parenthesized pipeline", Kind.RPAREN)
        if kind in (Kind.STRING, Kind.RAW_STRING):
            return StringNode(token.pos, token.line, token.value, self.unquote(token))
        self.i -= 1
        return None

    def number(self, token: Token) -> NumberNode:
        if token.kind is Kind.CHAR:
            try:
                char = unquote(token.value)
            except ValueError:
                if token.value.startswith("'\\") or len(token.value) <= 3:
                    raise self.error("invalid syntax", token) from None
                raise self.error(f"malformed character constant: {token.value}", token) from None
            code = ord(char)
            return NumberNode(
                token.pos, token.line, token.value, True, True, code, float(code), True
            )
        try:
            n = parse_number(token.value)
        except ValueError as exc:
            raise self.error(str(exc), token) from None
        return NumberNode(
            token.pos, token.line, token.value, n.is_int, n.is_float, n.int_value, n.float_value
        )

    def unquote(self, token: Token) -> str:
        try:
            return unquote(token.value)
        except ValueError as exc:
            raise self.error(str(exc), token) from None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_empty(body: ListNode) -> bool:
    return all(isinstance(n, TextNode) and not n.text.strip() for n in body.nodes)


def parse(name: str, text: str, has_function: Callable[[str], bool]) -> dict[str, ListNode]:
    """Parse ``text`` into its trees by name: ``name`` itself and every ``define``/``block``."""
    parser = _Parser(name, text, has_function)
    try:
        return parser.parse()
    except RecursionError:
        # Go stops at 10000 nested expressions; Python's stack ends sooner, with the same message.
        raise parser.error("max expression depth exceeded") from None
