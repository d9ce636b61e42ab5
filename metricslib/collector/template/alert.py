"""Alert label and annotation templates expanded as Prometheus's rule manager does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from metricslib.collector.template.promfuncs import QueryFunc

__all__ = ["AlertTemplateData", "check_alert_template", "expand_alert_template"]


@dataclass
class AlertTemplateData:
    """What ``.`` is in an alert template: ``.Labels``, ``.ExternalLabels``, ``.ExternalURL``, ``.Value``."""

    labels: Mapping[str, str] = field(default_factory=dict)
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    value: float = 0.0


def expand_alert_template(
    name: str,
    text: str,
    data: AlertTemplateData,
    *,
    query: QueryFunc | None = None,
    timestamp_s: float,
    path_prefix: str = "",
) -> str:
    """Expand one label or annotation; an error comes back as ``<error expanding template: ...>``."""
    raise NotImplementedError


def check_alert_template(name: str, text: str) -> None:
    """Raise ``TemplateError`` if ``text`` does not parse or names an unknown function."""
    raise NotImplementedError
