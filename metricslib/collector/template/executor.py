"""Runs a parsed template over data, as Go's text/template executes one.

Go's rules that users notice are kept: variables are scoped to the block
that declares them, ``range`` walks map keys in sorted order, ``and``/``or``
stop at the deciding argument, a pipeline's value is the last argument of
the next command, and errors name the line, column and the node being
evaluated (``template: NAME:1:7: executing "NAME" at <.Foo>: ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from metricslib.collector.template.errors import TemplateError
from metricslib.collector.template.functions import GoFunc
from metricslib.collector.template.gofmt import print_value
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
)  # fmt: skip
from metricslib.collector.template.values import (
    NO_VALUE,
    FieldError,
    go_type,
    is_true,
    lookup_field,
)  # fmt: skip

__all__ = ["MAX_DEPTH", "execute"]

MAX_DEPTH = 100000  # Go's maxExecDepth, reported in the message when Python's stack runs out first
_MISSING = object()  # no final (piped-in) argument


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _ideal(node: NumberNode) -> int | float:
    """Go's idealConstant: a float if written as one, an int otherwise."""
    if (
        node.is_float
        and not node.is_char
        and any(c in node.text for c in ".eEpP")
        and not node.text.lower().startswith(("0x", "-0x", "+0x"))
    ):
        return node.float_value
    return node.int_value if node.is_int else node.float_value


class _State:
    def __init__(self, trees: Mapping[str, ListNode], funcs: Mapping[str, GoFunc], parse_name: str,
                 text: str, missing_zero: bool, name: str) -> None:  # fmt: skip
        self.trees = trees
        self.funcs = funcs
        self.parse_name = parse_name
        self.text = text
        self.missing_zero = missing_zero
        self.name = name
        self.out: list[str] = []
        self.vars: list[list[Any]] = []
        self.node: Node | None = None

    # -- errors -------------------------------------------------------------
    def fail(self, message: str) -> NoReturn:
        node = self.node
        if node is None:
            raise TemplateError(f"template: {self.name}: {message}", name=self.parse_name)
        line_start = self.text.rfind("\n", 0, node.pos) + 1
        line = self.text.count("\n", 0, node.pos) + 1
        col = len(self.text[line_start : node.pos].encode())  # Go counts bytes
        context = str(node)
        raise TemplateError(
            f"template: {self.parse_name}:{line}:{col}: executing {_quote(self.name)} at <{context}>: {message}",
            name=self.parse_name,
            line=line,
            col=col,
        )

    # -- variables ----------------------------------------------------------
    def push(self, name: str, value: Any) -> None:
        self.vars.append([name, value])

    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def set_var(self, name: str, value: Any) -> None:
        for var in reversed(self.vars):
            if var[0] == name:
                var[1] = value
                return
        self.fail(f"undefined variable: {name}")

    def set_top_var(self, n: int, value: Any) -> None:
        self.vars[-n][1] = value

    def var_value(self, name: str) -> Any:
        for var in reversed(self.vars):
            if var[0] == name:
                return var[1]
        self.fail(f"undefined variable: {name}")

    # -- walking ------------------------------------------------------------
    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        if isinstance(node, TextNode):
            self.out.append(node.text)
        elif isinstance(node, ActionNode):
            assert node.pipe is not None
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print(node, value)
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, BranchNode):
            if node.keyword == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_or_with(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        else:  # pragma: no cover - the parser makes no other nodes
            self.fail(f"unknown node: {node}")

    def print(self, node: Node, value: Any) -> None:
        self.node = node
        if callable(value) or isinstance(value, GoFunc):
            self.fail(f"can't print {node} of type {go_type(value)}")
        self.out.append(print_value(value))

    def walk_if_or_with(self, dot: Any, node: BranchNode) -> None:
        mark = self.mark()
        assert node.pipe is not None and node.body is not None
        value = self.eval_pipeline(dot, node.pipe)
        if is_true(value):
            self.walk(value if node.keyword == "with" else dot, node.body)
        elif node.else_body is not None:
            self.walk(dot, node.else_body)
        self.pop(mark)

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        self.node = node
        outer = self.mark()
        assert node.pipe is not None and node.body is not None
        pipe = node.pipe
        value = self.eval_pipeline(dot, pipe)
        mark = self.mark()
        items: list[tuple[Any, Any]]
        if isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif value is None or value is NO_VALUE:
            items = []
        else:  # reported at the node evaluated last, as Go does
            self.fail(f"range can't iterate over {print_value(value)}")
        try:
            for index, elem in items:
                if pipe.decl:
                    if pipe.is_assign:
                        first = index if len(pipe.decl) > 1 else elem
                        self.set_var(pipe.decl[0].ident[0], first)
                    else:
                        self.set_top_var(1, elem)
                if len(pipe.decl) > 1:
                    if pipe.is_assign:
                        self.set_var(pipe.decl[1].ident[0], elem)
                    else:
                        self.set_top_var(2, index)
                try:
                    self.walk(elem, node.body)
                except _Continue:
                    pass
                finally:
                    self.pop(mark)
        except _Break:
            pass
        if not items and node.else_body is not None:
            self.walk(dot, node.else_body)
        self.pop(outer)

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        self.node = node
        tree = self.trees.get(node.name)
        if tree is None:
            self.fail(f"template {_quote(node.name)} not defined")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else NO_VALUE
        outer_vars, outer_name = self.vars, self.name
        self.vars, self.name = [["$", new_dot]], node.name
        try:
            self.walk(new_dot, tree)
        finally:
            self.vars, self.name = outer_vars, outer_name

    # -- evaluation ---------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        self.node = pipe
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.push(var.ident[0], value)
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            self.fail(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd.args, final, cmd)
        if isinstance(first, PipeNode):
            self.node = first
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.fail("nil is not a command")
        if isinstance(first, NumberNode):
            return _ideal(first)
        if isinstance(first, StringNode):
            return first.text
        self.fail(f"can't evaluate command {first}")  # pragma: no cover

    def eval_variable(
        self, dot: Any, node: VariableNode, args: list[Node] | None, final: Any
    ) -> Any:
        self.node = node
        value = self.var_value(node.ident[0])
        if len(node.ident) == 1:
            self.not_a_function(args or [node], final)
            return value
        return self.eval_field_chain(dot, value, node, node.ident[1:], args or [node], final)

    def eval_chain(self, dot: Any, node: ChainNode, args: list[Node] | None, final: Any) -> Any:
        self.node = node
        if isinstance(node.node, NilNode):
            self.fail(f"indirection through explicit nil in {node}")
        assert node.node is not None
        receiver = self.eval_arg(dot, "any", node.node)
        return self.eval_field_chain(dot, receiver, node, node.fields, args or [node], final)

    def eval_field_chain(self, dot: Any, receiver: Any, node: Node, ident: list[str], args: list[Node],
                         final: Any) -> Any:  # fmt: skip
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, node, [node], _MISSING, receiver)
        return self.eval_field(dot, ident[-1], node, args, final, receiver)

    def eval_field(
        self, dot: Any, name: str, node: Node, args: list[Node], final: Any, receiver: Any
    ) -> Any:
        has_args = len(args) > 1 or final is not _MISSING
        try:
            value = lookup_field(receiver, name, missing_zero=self.missing_zero, has_args=has_args)
        except FieldError as exc:  # at the node the caller is evaluating, as in Go
            self.fail(str(exc))
        if isinstance(value, GoFunc):  # a method
            return self.call(dot, value, node, name, args, final)
        if has_args:
            self.fail(f"{name} has arguments but cannot be invoked as function")
        return value

    def eval_function(
        self, dot: Any, node: IdentifierNode, args: list[Node], final: Any, cmd: Node | None = None
    ) -> Any:
        self.node = node
        fn = self.funcs.get(node.name)
        if fn is None:
            self.fail(f"{_quote(node.name)} is not a defined function")
        return self.call(dot, fn, node, node.name, args, final, cmd or node)

    def call(
        self,
        dot: Any,
        fn: GoFunc,
        node: Node,
        name: str,
        args: list[Node],
        final: Any,
        cmd: Node | None = None,
    ) -> Any:
        """Check the arguments against ``fn``'s signature, evaluate them, call it.

        Errors about the arguments point at the function name; an error the
        function returns points at the whole command (``cmd``), as in Go.
        """
        given = args[1:]
        count = len(given) + (final is not _MISSING)
        fixed = len(fn.params)
        if fn.variadic is not None:
            if count < fixed:
                self.node = node
                self.fail(
                    f"wrong number of args for {name}: want at least {fixed} got {len(given)}"
                )
        elif count != fixed:
            self.node = node
            self.fail(f"wrong number of args for {name}: want {fixed} got {count}")

        def param(i: int) -> str:
            if i < fixed:
                return fn.params[i]
            assert fn.variadic is not None
            return fn.variadic

        if fn.lazy:
            thunks = [self.thunk(dot, param(i), a) for i, a in enumerate(given)]
            if final is not _MISSING:
                thunks.append(lambda: self.validate(final, param(len(given)), fn))
            return self.invoke(fn, cmd or node, name, thunks)
        argv = [self.eval_arg(dot, param(i), a, fn) for i, a in enumerate(given)]
        if final is not _MISSING:
            argv.append(self.validate(final, param(len(given)), fn))
        return self.invoke(fn, cmd or node, name, argv)

    def thunk(self, dot: Any, typ: str, node: Node) -> Callable[[], Any]:
        return lambda: self.eval_arg(dot, typ, node)

    def invoke(self, fn: GoFunc, node: Node, name: str, argv: list[Any]) -> Any:
        try:
            result = fn.fn(*argv)
        except (_Break, _Continue):  # pragma: no cover - never raised by functions
            raise
        except RecursionError:
            raise
        except Exception as exc:
            self.node = node
            self.fail(f"error calling {name}: {_error_text(exc)}")
        return result

    def eval_arg(self, dot: Any, typ: str, node: Node, fn: GoFunc | None = None) -> Any:
        self.node = node
        if isinstance(node, DotNode):
            return self.validate(dot, typ, fn)
        if isinstance(node, NilNode):
            if typ == "any" or typ.startswith("*"):
                return None
            self.fail(f"cannot assign nil to {typ}")
        if isinstance(node, FieldNode):
            return self.validate(
                self.eval_field_chain(dot, dot, node, node.ident, [node], _MISSING), typ, fn
            )
        if isinstance(node, VariableNode):
            return self.validate(self.eval_variable(dot, node, None, _MISSING), typ, fn)
        if isinstance(node, PipeNode):
            return self.validate(self.eval_pipeline(dot, node), typ, fn)
        if isinstance(node, IdentifierNode):
            return self.validate(self.eval_function(dot, node, [node], _MISSING), typ, fn)
        if isinstance(node, ChainNode):
            return self.validate(self.eval_chain(dot, node, None, _MISSING), typ, fn)
        # A constant: converted to the parameter's type as Go converts constants.
        if typ == "any":
            if isinstance(node, NumberNode):
                return _ideal(node)
            if isinstance(node, StringNode):
                return node.text
            if isinstance(node, BoolNode):
                return node.value
        elif typ == "string":
            if isinstance(node, StringNode):
                return node.text
            self.fail(f"expected string; found {node}")
        elif typ == "float64":
            if isinstance(node, NumberNode) and node.is_float:
                return node.float_value
            self.fail(f"expected float; found {node}")
        elif typ == "int":
            if isinstance(node, NumberNode) and node.is_int:
                return node.int_value
            self.fail(f"expected integer; found {node}")
        elif typ == "bool":
            if isinstance(node, BoolNode):
                return node.value
            self.fail(f"expected bool; found {node}")
        self.fail(f"can't handle {node} for arg of type {typ}")

    def validate(self, value: Any, typ: str, fn: GoFunc | None = None) -> Any:
        if value is NO_VALUE:
            if typ == "any" or typ.startswith("*"):
                return None
            self.fail(f"invalid value; expected {typ}")
        ok = _BASIC_TYPES.get(typ)
        if ok is None and fn is not None and fn.accepts is not None:
            ok = fn.accepts.get(typ)
        if ok is not None and not ok(value):
            self.fail(f"wrong type for value; expected {typ}; got {go_type(value)}")
        return value


_BASIC_TYPES: dict[str, Callable[[Any], bool]] = {
    "any": lambda v: True,
    "string": lambda v: isinstance(v, str),
    "float64": lambda v: isinstance(v, float),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error_text(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return text or type(exc).__name__


def execute(trees: Mapping[str, ListNode], funcs: Mapping[str, GoFunc], parse_name: str, text: str,
            name: str, data: Any, *, missing_zero: bool) -> str:  # fmt: skip
    """Run template ``name`` of ``trees`` with ``.`` set to ``data``; errors are ``TemplateError``."""
    state = _State(trees, funcs, parse_name, text, missing_zero, name)
    tree = trees.get(name)
    if tree is None:
        raise TemplateError(f"template: no template {_quote(name)} associated with template {_quote(parse_name)}",
                            name=parse_name)  # fmt: skip
    state.push("$", data)
    try:
        state.walk(data, tree)
    except RecursionError:
        state.fail(f"exceeded maximum template depth ({MAX_DEPTH})")
    return "".join(state.out)
