"""text/template's predefined functions, with Go's results and error texts."""

from __future__ import annotations

from typing import Any

import pytest

from metricslib.collector.template import TemplateError, parse_template


def run(text: str, data: Any = None) -> str:
    return parse_template("t", text).execute(data)


def error_of(text: str, data: Any = None) -> str:
    with pytest.raises(TemplateError) as caught:
        run(text, data)
    return str(caught.value).split(": ", 3)[-1]


def test_and_or_not_return_go_values() -> None:
    assert run(
        "{{ and 1 0 }}|{{ and 1 2 }}|{{ or 0 `` `x` }}|{{ or 0 false }}|{{ not 0 }}|{{ not `a` }}"
    ) == ("0|2|x|false|true|false")


def test_len_counts_bytes_of_strings() -> None:
    assert run("{{ len `héllo` }}|{{ len . }}", {"a": 1, "b": 2}) == "6|2"
    assert error_of("{{ len 3 }}") == "error calling len: len of type int"


def test_index_and_slice() -> None:
    data = {"l": [10, 20, 30], "m": {"k": "v"}, "nested": {"a": [{"b": "deep"}]}}
    assert run(
        "{{ index .l 1 }}|{{ index .m `k` }}|{{ index .m `nope` }}|{{ index .nested `a` 0 `b` }}",
        data,
    ) == ("20|v||deep")
    assert (
        run("{{ index `abc` 1 }}|{{ slice `abcdef` 1 3 }}|{{ slice .l 1 }}", data)
        == "98|bc|[20 30]"
    )
    assert error_of("{{ index .l 5 }}", data) == "error calling index: index out of range: 5"
    assert error_of("{{ slice `abc` 2 1 }}") == "error calling slice: invalid slice index: 2 > 1"
    assert error_of("{{ index nil 1 }}") == "error calling index: index of untyped nil"


def test_comparisons_follow_go_kinds() -> None:
    assert run(
        "{{ eq 1 1 }}|{{ eq `a` `b` `a` }}|{{ ne 1 2 }}|{{ lt `a` `b` }}|{{ le 1.5 1.5 }}|{{ gt 2 1 }}|{{ ge 1 2 }}"
    ) == ("true|true|true|true|true|true|false")
    # A float64 value and an integer constant are different kinds in Go: write 1.0.
    assert error_of("{{ gt . 1 }}", 0.5) == "error calling gt: incompatible types for comparison"
    assert run("{{ gt . 0.1 }}", 0.5) == "true"
    assert error_of("{{ lt true false }}") == "error calling lt: invalid type for comparison"
    assert error_of("{{ eq 1 }}") == "error calling eq: missing argument for comparison"
    assert run("{{ eq .missing `x` }}", {}) == "false"


def test_print_functions() -> None:
    assert (
        run("{{ print 1 2 `a` }}|{{ println `a` 1 }}|{{ printf `%05.1f` 3.14159 }}")
        == "1 2a|a 1\n|003.1"
    )


def test_escapers() -> None:
    assert run("{{ html `<a href='x'>&</a>` }}") == "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
    assert (
        run('{{ js "it\'s \\"x\\" <b> & =" }}') == 'it\\\'s \\"x\\" \\u003Cb\\u003E \\u0026 \\u003D'
    )
    assert run("{{ urlquery `a b&c=d/é` }}") == "a+b%26c%3Dd%2F%C3%A9"
    assert run("{{ html 1 2 }}") == "1 2"


def test_call_calls_a_function_value() -> None:
    assert run("{{ call .f 2 3 }}", {"f": lambda a, b: a * b}) == "6"
    assert error_of("{{ call .x }}", {"x": 1}) == "error calling call: non-function of type int"


def test_argument_counts_are_checked() -> None:
    assert error_of("{{ not 1 2 }}") == "wrong number of args for not: want 1 got 2"
    assert error_of("{{ printf }}") == "wrong number of args for printf: want at least 1 got 0"
    assert error_of("{{ printf 1 }}") == "expected string; found 1"
