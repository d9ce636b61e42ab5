"""Any text either parses or fails with TemplateError; any parsed template runs or fails with TemplateError.

A rule file is user input: the template engine must never fail with a
Python error of its own, whatever the text.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metricslib.collector.template import TemplateError, check_alert_template, expand_alert_template
from tests.collector.template.fixtures import alert_data, query

_PIECES = [
    "{{", "}}", "{{-", "-}}", " ", "\n", "$labels", "$value", ".Labels", ".job", ".", "$x", ":=", "=", "|", "(", ")",
    "if", "else", "end", "range", "with", "break", "continue", "define", "template", "block", '"s"', "`r`", "'c'",
    "1", "-2.5", "1e6", "0x1F", "true", "nil", "humanize", "printf", '"%d %s %v"', "len", "index", "eq", "gt",
    "query", '"m"', "first", "value", "label", "and", "or", "not", "/*", "*/", ",", "text", "$", "slice",
    "humanizeDuration", "reReplaceAll", '"(.*)"', '"$1"', "args", "toTime", "title",
]  # fmt: skip

templates = st.lists(st.sampled_from(_PIECES), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(templates)
def test_expansion_never_raises_and_errors_are_prometheus_shaped(text: str) -> None:
    got = expand_alert_template("__alert_A", text, alert_data(), query=query, timestamp_s=60.0)
    assert isinstance(got, str)
    if got.startswith("<error expanding template:"):
        assert "panic expanding template" not in got, got  # a Python error of ours
    try:
        check_alert_template("__alert_A", text)
    except TemplateError as exc:
        assert str(exc).startswith("template: __alert_A:")
        assert got.startswith("<error expanding template: error parsing template __alert_A: ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_is_handled(text: str) -> None:
    got = expand_alert_template("__alert_A", text, alert_data(), query=query, timestamp_s=60.0)
    assert "panic expanding template" not in got, got
