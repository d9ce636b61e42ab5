"""All discovery providers of one scrape config, polled together.

The scrape manager calls :meth:`JobDiscovery.poll` often (about every quarter
second); each provider decides whether it is due, and the job's full group
list is returned only when some provider's groups changed.
"""

from __future__ import annotations

from typing import Any, Protocol

from metricslib.collector.config.config import DNSSDConfig, FileSDConfig, StaticConfig
from metricslib.collector.discovery.dns import DNSProvider, make_resolver
from metricslib.collector.discovery.file import FileProvider
from metricslib.collector.discovery.static import StaticProvider
from metricslib.collector.discovery.targetgroup import TargetGroup

__all__ = ["JobDiscovery", "SDConfigs"]


class SDConfigs(Protocol):
    """What discovery reads from a config: a scrape config or an ``alertmanagers`` entry."""

    @property
    def static_configs(self) -> tuple[StaticConfig, ...]: ...

    @property
    def file_sd_configs(self) -> tuple[FileSDConfig, ...]: ...

    @property
    def dns_sd_configs(self) -> tuple[DNSSDConfig, ...]: ...


class JobDiscovery:
    """All providers of one scrape config; :meth:`poll` → the full group list when it changed."""

    def __init__(self, config: SDConfigs, resolver: Any = None) -> None:
        self.providers: list[StaticProvider | FileProvider | DNSProvider] = []
        if config.static_configs:
            self.providers.append(StaticProvider(config.static_configs))
        for fc in config.file_sd_configs:
            self.providers.append(FileProvider(fc))
        if config.dns_sd_configs:
            res = resolver if resolver is not None else make_resolver(None)
            for dc in config.dns_sd_configs:
                self.providers.append(DNSProvider(dc, res))
        self._latest: list[list[TargetGroup]] = [[] for _ in self.providers]
        self._first = True

    @property
    def errors(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.providers:
            if not isinstance(p, StaticProvider):
                out.update(p.errors)
        return out

    def poll(self, now: float) -> list[TargetGroup] | None:
        """All groups when any provider changed, and always on the first call."""
        changed, self._first = self._first, False
        for i, provider in enumerate(self.providers):
            groups = provider.poll(now)
            if groups is not None and groups != self._latest[i]:
                self._latest[i] = groups
                changed = True
        if not changed:
            return None
        return [g for groups in self._latest for g in groups]
