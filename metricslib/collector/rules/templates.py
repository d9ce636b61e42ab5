"""The rules stage's seam to the template engine: load-time checks and alert expansion.

Rules use Go text/template through ``metricslib.collector.template``. Keeping
the calls here lets the rest of the stage (and its tests) inject a different
expander, and lets rule files load while the engine is absent: then label and
annotation texts are used as written, unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ExpandRequest", "Expander", "TemplateCheck", "check_template", "default_expander", "engine_available"]

#: (template name, text) → None, or raises with the reason.
TemplateCheck = Callable[[str, str], None]
#: One sample as a template's ``query`` sees it: (labels, value).
QuerySample = tuple[Mapping[str, str], float]


@dataclass(frozen=True)
class ExpandRequest:
    """What an alert's label or annotation template is expanded with."""

    name: str  # "__alert_" + alert name, as Prometheus names it
    text: str
    labels: Mapping[str, str]
    external_labels: Mapping[str, str]
    external_url: str
    value: float
    timestamp_s: float
    query: Callable[[str], Sequence[QuerySample]] | None = None


#: Expands one template; errors become the text Prometheus would show.
Expander = Callable[[ExpandRequest], str]


def _engine() -> Any:
    try:
        from metricslib.collector import template  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # the engine is not installed with this build
        return None
    return template


def engine_available() -> bool:
    """Whether templates are checked and expanded (the engine is present and complete)."""
    engine = _engine()
    if engine is None:
        return False
    try:
        engine.check_alert_template("__probe", "{{ 1 }}")
    except NotImplementedError:
        return False
    return True


def check_template(name: str, text: str) -> None:
    """Raise the template engine's error for a bad template (no-op without the engine)."""
    engine = _engine()
    if engine is not None:
        try:
            engine.check_alert_template(name, text)
        except NotImplementedError:  # an engine still being built checks nothing yet
            return


def default_expander(request: ExpandRequest) -> str:
    """Expand with the template engine; a failure gives Prometheus's error text as the value."""
    engine = _engine()
    if engine is None or "{{" not in request.text:
        return request.text
    query = None
    if request.query is not None:
        run = request.query

        def query(expr: str) -> list[Any]:
            return [engine.TemplateSample(labels, value) for labels, value in run(expr)]

    data = engine.AlertTemplateData(
        request.labels, request.external_labels, request.external_url, request.value
    )
    try:
        return str(engine.expand_alert_template(
            request.name, request.text, data, query=query, timestamp_s=request.timestamp_s,
            path_prefix=urlsplit(request.external_url).path.rstrip("/"),
        ))
    except NotImplementedError:
        return request.text
    except engine.TemplateError as exc:
        # Prometheus puts the error in the label/annotation and logs it.
        return f"<error expanding template: {exc}>"
