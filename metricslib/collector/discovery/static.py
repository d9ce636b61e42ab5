"""``static_configs``: target groups written in prometheus.yml, sent once."""

from __future__ import annotations

from collections.abc import Sequence

from metricslib.collector.config.config import StaticConfig
from metricslib.collector.discovery.targetgroup import TargetGroup

__all__ = ["StaticProvider"]


class StaticProvider:
    def __init__(self, configs: Sequence[StaticConfig]) -> None:
        self._groups = [
            TargetGroup(f"static/{i}", tuple((("__address__", t),) for t in sc.targets), sc.labels)
            for i, sc in enumerate(configs)
        ]
        self._sent = False

    def poll(self, now: float) -> list[TargetGroup] | None:
        if self._sent:
            return None
        self._sent = True
        return list(self._groups)
