"""The alert expander against promtool's own expansions, and its error handling."""

from __future__ import annotations

import pytest

from metricslib.collector.template import (
    AlertTemplateData,
    TemplateError,
    TemplateSample,
    alert_template_name,
    check_alert_template,
    expand_alert_template,
)
from tests.collector.template.fixtures import alert_data, query
from tests.collector.template.golden import EXPANSIONS, PARSE_ERRORS


def expand(text: str, data: AlertTemplateData | None = None, **kwargs: object) -> str:
    return expand_alert_template(
        "__alert_A",
        text,
        data or alert_data(),
        query=query,
        timestamp_s=60.0,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("text", "expected"), EXPANSIONS)
def test_expansions_match_promtool(text: str, expected: str) -> None:
    assert expand(text) == expected


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS)
def test_load_time_errors_match_promtool(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_alert_template("__alert_A", text)
    assert str(caught.value) == message
    assert caught.value.name == "__alert_A" and caught.value.line == 1


def test_a_parse_error_at_expansion_is_the_value_not_an_exception() -> None:
    got = expand("{{ humanise $value }}")
    assert got == (
        "<error expanding template: error parsing template __alert_A: "
        'template: __alert_A:1: function "humanise" not defined>'
    )


def test_the_template_name_is_prometheus_s() -> None:
    assert alert_template_name("HighErrors") == "__alert_HighErrors"
    with pytest.raises(
        TemplateError, match=r'^template: __alert_HighErrors:2: function "nope" not defined$'
    ):
        check_alert_template(alert_template_name("HighErrors"), "line one\n{{ nope }}")


def test_valid_templates_pass_the_check() -> None:
    for text in (
        "plain",
        "{{ $labels.job }} at {{ humanize $value }}",
        "{{ query `up` | first | value }}",
    ):
        check_alert_template("__alert_A", text)


def test_external_url_and_path_prefix() -> None:
    data = alert_data("http://localhost:9090/prom")
    assert expand("{{ externalURL }}|{{ $externalURL }}|{{ pathPrefix }}", data) == (
        "http://localhost:9090/prom|http://localhost:9090/prom|/prom"
    )
    assert expand("{{ pathPrefix }}", data, path_prefix="/other") == "/other"
    assert (
        expand("{{ .ExternalURL }}{{ graphLink `up` }}", data)
        == "http://localhost:9090/prom/graph?g0.expr=up&g0.tab=0"
    )


def test_external_labels() -> None:
    data = AlertTemplateData({"job": "x"}, {"region": "eu"}, "", 1.0)
    assert (
        expand("{{ $externalLabels.region }}/{{ .ExternalLabels.region }}/{{ $value }}", data)
        == "eu/eu/1"
    )


def test_an_integer_value_prints_as_the_float64_it_is_in_prometheus() -> None:
    data = AlertTemplateData({}, {}, "", 1000000)  # type: ignore[arg-type]
    assert expand("{{ $value }} {{ printf `%T` $value }}", data) == "1e+06 float64"


def test_query_errors_become_the_value() -> None:
    def failing(q: str) -> list[TemplateSample]:
        raise RuntimeError("query timed out")

    got = expand_alert_template(
        "__alert_A", '{{ query "up" }}', alert_data(), query=failing, timestamp_s=0.0
    )
    assert got == (
        "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: "
        'executing "__alert_A" at <query "up">: error calling query: query timed out>'
    )


def test_without_a_query_function_query_is_an_error_not_a_crash() -> None:
    got = expand_alert_template("__alert_A", '{{ query "up" }}', alert_data(), timestamp_s=0.0)
    assert got.startswith("<error expanding template: error executing template __alert_A:")
    assert "no query function" in got


def test_tmpl_is_not_an_alert_template_function() -> None:
    # Prometheus defines tmpl only for console (HTML) templates.
    with pytest.raises(TemplateError, match='function "tmpl" not defined'):
        check_alert_template("__alert_A", '{{ tmpl "x" . }}')


def test_plain_text_is_returned_unchanged() -> None:
    assert expand("no actions here: } { $labels") == "no actions here: } { $labels"
    assert expand("") == ""


def test_line_numbers_count_the_user_s_lines() -> None:
    got = expand("first\nsecond {{ .Nope }}")
    assert "template: __alert_A:2:10: executing" in got
    assert "can't evaluate field Nope in type struct" in got


def test_the_example_in_docs_alerting() -> None:
    data = AlertTemplateData({"job": "gallery"}, {}, "http://localhost:9090", 0.0731)
    name = alert_template_name("HighErrorRatio")

    def go(text: str) -> str:
        return expand_alert_template(name, text, data, timestamp_s=1700000000.0)

    assert (
        go("{{ $labels.job }}: {{ humanizePercentage $value }} of requests fail")
        == "gallery: 7.31% of requests fail"
    )
    assert go("{{ if gt $value 0.2 }}page{{ else }}ticket{{ end }}") == "ticket"
    assert (
        go('{{ $externalURL }}{{ graphLink "up" }}')
        == "http://localhost:9090/graph?g0.expr=up&g0.tab=0"
    )
