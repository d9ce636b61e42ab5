"""An alert as it travels from the rule evaluator to Alertmanager (its API v2 shape)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Alert"]


@dataclass(frozen=True)
class Alert:
    """One alert instance: the labels identify it, the times say whether it is still firing.

    ``ends_at`` is set for resolved alerts and, for firing ones, to a time a few
    evaluation intervals ahead, as Prometheus does, so Alertmanager resolves an
    alert on its own when the sender dies.
    """

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: float  # Unix seconds
    ends_at: float | None = None
    generator_url: str = ""

    def name(self) -> str:
        return self.labels.get("alertname", "")

    def resolved_at(self, now: float) -> bool:
        return self.ends_at is not None and self.ends_at <= now
