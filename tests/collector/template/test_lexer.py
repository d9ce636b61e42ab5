"""Tokens of Go templates: delimiters, trim markers, comments, literals, and where errors surface."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metricslib.collector.template.lexer import Kind, lex


def kinds(text: str) -> list[tuple[Kind, str]]:
    return [(t.kind, t.value) for t in lex("t", text) if t.kind is not Kind.SPACE]


def test_text_and_action() -> None:
    assert kinds("a {{ .X }} b") == [
        (Kind.TEXT, "a "), (Kind.LEFT, "{{"), (Kind.FIELD, ".X"), (Kind.RIGHT, "}}"), (Kind.TEXT, " b"), (Kind.EOF, ""),
    ]  # fmt: skip


def test_trim_markers_remove_white_space_beside_the_action() -> None:
    tokens = kinds("a \n\t{{- 1 -}} \n b")
    assert tokens[0] == (Kind.TEXT, "a")
    assert tokens[-2] == (Kind.TEXT, "b")


def test_a_dash_without_space_is_a_negative_number_not_a_trim_marker() -> None:
    assert (Kind.NUMBER, "-3") in kinds("a {{-3}} b")
    assert kinds("a {{-3}} b")[0] == (Kind.TEXT, "a ")


def test_comments_vanish_with_their_trim_markers() -> None:
    toks = kinds("x {{- /* note */ -}} y")
    assert [k for k, _ in toks] == [Kind.TEXT, Kind.COMMENT, Kind.TEXT, Kind.EOF]
    assert toks[0][1] == "x" and toks[2][1] == "y"


def test_literals() -> None:
    toks = kinds('{{ "a\\"b" `r\\n` \'c\' 0x1F 1e6 -2.5 true nil $x . .a.b ( ) | := = , }}')
    assert toks[1:-2] == [
        (Kind.STRING, '"a\\"b"'), (Kind.RAW_STRING, "`r\\n`"), (Kind.CHAR, "'c'"), (Kind.NUMBER, "0x1F"),
        (Kind.NUMBER, "1e6"), (Kind.NUMBER, "-2.5"), (Kind.BOOL, "true"), (Kind.NIL, "nil"),
        (Kind.VARIABLE, "$x"), (Kind.DOT, "."), (Kind.FIELD, ".a"), (Kind.FIELD, ".b"), (Kind.LPAREN, "("),
        (Kind.RPAREN, ")"), (Kind.PIPE, "|"), (Kind.DECLARE, ":="), (Kind.ASSIGN, "="), (Kind.COMMA, ","),
    ]  # fmt: skip


def test_keywords_and_newlines_inside_actions() -> None:
    toks = kinds("{{ if\n.X }}{{ end }}")
    assert (Kind.KEYWORD, "if") in toks and (Kind.KEYWORD, "end") in toks


def test_a_number_stops_where_go_stops_it() -> None:
    # "1.2.3" is the number 1.2 followed by the number .3, as Go lexes it.
    assert [v for k, v in kinds("{{ 1.2.3 }}") if k is Kind.NUMBER] == ["1.2", ".3"]


def test_lexical_errors_are_tokens_the_parser_reports_in_order() -> None:
    toks = lex("t", 'ok {{ "open }}')
    assert toks[-2].kind is Kind.ERROR and toks[-2].value == "unterminated quoted string"
    assert lex("t", "{{ 1")[-2].value == "unclosed action"
    assert lex("t", "{{/* x")[-2].value == "unclosed comment"
    assert lex("t", "{{ 3x }}")[-2].value == 'bad number syntax: "3x"'
    assert lex("t", "{{ € }}")[-2].value == "unrecognized character in action: U+20AC '€'"


def test_error_lines() -> None:
    toks = lex("t", "a\nb\n{{ `x")
    assert toks[-2].kind is Kind.ERROR and toks[-2].line == 3


@given(st.text().filter(lambda s: "{{" not in s))
def test_text_without_delimiters_is_one_token(text: str) -> None:
    toks = lex("t", text)
    assert "".join(t.value for t in toks if t.kind is Kind.TEXT) == text
    assert toks[-1].kind is Kind.EOF
