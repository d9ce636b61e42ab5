"""Alert label and annotation templates expanded as Prometheus's rule manager expands them.

Prometheus prepends ``{{$labels := .Labels}}{{$externalLabels :=
.ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`` to
each label and annotation (on the same line, so line numbers are the
user's; columns on line 1 count the prefix, as Prometheus's do), parses it
under the name ``__alert_<alertname>`` with ``missingkey=zero``, and on an
error uses ``<error expanding template: ...>`` as the value. Parsed
templates are cached: the same few texts are expanded at every evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from metricslib.collector.template.errors import TemplateError
from metricslib.collector.template.promfuncs import QueryFunc, prometheus_functions
from metricslib.collector.template.template import Template, parse_template

__all__ = [
    "ALERT_TEMPLATE_PREFIX",
    "AlertTemplateData",
    "alert_template_name",
    "check_alert_template",
    "expand_alert_template",
]

ALERT_TEMPLATE_PREFIX = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)


@dataclass
class AlertTemplateData:
    """What ``.`` is in an alert template: ``.Labels``, ``.ExternalLabels``, ``.ExternalURL``, ``.Value``."""

    labels: Mapping[str, str] = field(default_factory=dict)
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    value: float = 0.0


def alert_template_name(alertname: str) -> str:
    """The template name Prometheus gives an alert's labels and annotations (it appears in errors)."""
    return "__alert_" + alertname


@lru_cache(maxsize=4096)
def _parsed(name: str, text: str) -> Template:
    # The table has every function; the ones bound to an expansion are replaced at execution.
    return parse_template(
        name, ALERT_TEMPLATE_PREFIX + text, prometheus_functions(), missing_zero=True
    )


def check_alert_template(name: str, text: str) -> None:
    """Raise ``TemplateError`` if ``text`` does not parse or names an unknown function.

    ``name`` is the template name for messages, ``alert_template_name(alertname)``
    as Prometheus names it: ``template: __alert_X:1: function "humanise" not defined``.
    """
    _parsed(name, text)


def expand_alert_template(
    name: str,
    text: str,
    data: AlertTemplateData,
    *,
    query: QueryFunc | None = None,
    timestamp_s: float,
    path_prefix: str = "",
) -> str:
    """Expand one label or annotation; an error comes back as ``<error expanding template: ...>``.

    ``name`` is the template name (``alert_template_name(alertname)``);
    ``query`` answers the template's ``query`` calls and is expected to
    evaluate at ``timestamp_s``, the rule evaluation time. ``pathPrefix``
    returns ``path_prefix`` or, when empty, the path of ``data.external_url``.
    """
    del timestamp_s  # the query function is bound to the evaluation time by its maker
    try:
        template = _parsed(name, text)
    except TemplateError as exc:
        return f"<error expanding template: error parsing template {name}: {exc}>"
    funcs = prometheus_functions(
        query=query, external_url=data.external_url, path_prefix=path_prefix or None
    )
    if isinstance(data.value, int) and not isinstance(data.value, bool):
        data = dataclasses.replace(data, value=float(data.value))
    try:
        return template.execute(data, funcs=funcs)
    except TemplateError as exc:
        return f"<error expanding template: error executing template {name}: {exc}>"
    except (
        Exception
    ) as exc:  # a bug of ours must not lose the alert: Prometheus recovers panics too
        return f"<error expanding template: panic expanding template {name}: {exc}>"
