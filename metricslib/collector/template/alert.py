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
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from metricslib.collector.template.errors import TemplateError
from metricslib.collector.template.promfuncs import QueryFunc, bound_functions, prometheus_functions
from metricslib.collector.template.template import Template, parse_template

__all__ = [
    "ALERT_TEMPLATE_PREFIX",
    "EXPANSIONS",
    "AlertTemplateData",
    "ExpansionCounts",
    "alert_template_name",
    "check_alert_template",
    "expand_alert_template",
]

ALERT_TEMPLATE_PREFIX = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)


class ExpansionCounts:
    """How many templates were expanded and how many failed, for the collector's self-metrics.

    Prometheus counts the same events as ``prometheus_template_text_expansions_total``
    and ``prometheus_template_text_expansion_failures_total``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.failures = 0

    def add(self, *, failed: bool) -> None:
        with self._lock:
            self.total += 1
            self.failures += failed


EXPANSIONS = ExpansionCounts()


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
    error, result = _expand(name, text, data, query, path_prefix)
    EXPANSIONS.add(failed=error is not None)
    return result if error is None else f"<error expanding template: {error}>"


def _expand(
    name: str, text: str, data: AlertTemplateData, query: QueryFunc | None, path_prefix: str
) -> tuple[str | None, str]:
    """(None, text) or (why it failed in Prometheus's words, "")."""
    try:
        template = _parsed(name, text)
    except TemplateError as exc:
        return f"error parsing template {name}: {exc}", ""
    funcs = bound_functions(
        query=query, external_url=data.external_url, path_prefix=path_prefix or None
    )
    if isinstance(data.value, int) and not isinstance(data.value, bool):
        data = dataclasses.replace(data, value=float(data.value))
    try:
        return None, template.execute(data, funcs=funcs)
    except TemplateError as exc:
        return f"error executing template {name}: {exc}", ""
    except Exception as exc:
        return f"panic expanding template {name}: {exc}", ""
