"""Go text/template as Prometheus expands alert labels and annotations.

Layer 2: imports the SDK, ``collector.model`` and the standard library only.
The pieces, one concept per module: ``lexer`` (tokens), ``nodes`` (the
tree), ``parser`` (text to tree, functions and variables checked),
``values`` (Go's view of Python values: truth, fields, printing),
``gofmt`` (Go's ``fmt`` verbs), ``builtins`` (text/template's functions),
``executor`` (runs a tree), ``template`` (``parse_template``/``Template``),
``promfuncs`` (Prometheus's template functions) and ``alert`` (the
alert-rule expander).
"""

from metricslib.collector.template.alert import (
    AlertTemplateData,
    check_alert_template,
    expand_alert_template,
)
from metricslib.collector.template.errors import TemplateError
from metricslib.collector.template.promfuncs import QueryFunc, TemplateSample
from metricslib.collector.template.template import Template, parse_template

__all__ = [
    "AlertTemplateData",
    "QueryFunc",
    "Template",
    "TemplateError",
    "TemplateSample",
    "check_alert_template",
    "expand_alert_template",
    "parse_template",
]
