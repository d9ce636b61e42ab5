"""Go text/template as Prometheus expands alert labels and annotations.

Layer 2: imports the SDK, ``collector.model`` and the standard library only.
The pieces, one concept per module: ``lexer`` (tokens), ``literals`` (Go
strings and numbers), ``nodes`` (the tree), ``parser`` (text to tree,
functions and variables checked), ``values`` (Go's view of Python values:
types, truth, fields), ``gofmt`` (Go's ``fmt`` verbs), ``gotime`` (Go's
time and duration texts), ``functions`` (Go signatures of functions),
``builtins`` (text/template's functions), ``executor`` (runs a tree),
``template`` (``parse_template``/``Template``), ``promfuncs`` (Prometheus's
template functions) and ``alert`` (the alert-rule expander).
"""

from metricslib.collector.template.alert import (
    AlertTemplateData,
    alert_template_name,
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
    "alert_template_name",
    "check_alert_template",
    "expand_alert_template",
    "parse_template",
]
