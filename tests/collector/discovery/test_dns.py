"""Discovery: dns_sd_configs (without a DNS server: see test_dns_integration.py)."""

from __future__ import annotations

import pytest

from metricslib.collector.config.durations import Duration
from metricslib.collector.discovery.dns import make_resolver
from tests.collector.discovery.helpers import addresses


def test_make_resolver_accepts_host_port_tuple() -> None:
    import dns.resolver

    res = make_resolver(("127.0.0.1", 5353))
    assert res.nameservers == ["127.0.0.1"] and res.port == 5353
    existing = dns.resolver.Resolver(configure=False)
    assert make_resolver(existing) is existing
    with pytest.raises(TypeError, match="dns_resolver"):
        make_resolver("8.8.8.8")


class FlakyResolver:
    """Answers once, then fails, like a nameserver going away."""

    def __init__(self) -> None:
        self.calls = 0

    def resolve(self, name: str, rtype: str, **_: object) -> list[object]:
        import dns.exception

        self.calls += 1
        if self.calls > 1:
            raise dns.exception.Timeout()

        class Record:
            address = "10.0.0.1"

        return [Record()]


def test_dns_failure_keeps_previous_targets_and_refresh_interval() -> None:
    from metricslib.collector.config.config import DNSSDConfig
    from metricslib.collector.discovery.dns import DNSProvider

    resolver = FlakyResolver()
    provider = DNSProvider(DNSSDConfig(("web.test",), "A", 80, Duration(30_000)), resolver)
    assert addresses(provider.poll(0)) == ["10.0.0.1:80"]
    assert provider.poll(10) is None and resolver.calls == 1  # not due before refresh_interval
    assert provider.poll(31) is None  # failed: nothing changes
    assert "web.test" in provider.errors and resolver.calls == 2


def test_system_resolver_without_configuration_falls_back_to_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    import dns.resolver

    real = dns.resolver.Resolver

    def unconfigured(configure: bool = True) -> dns.resolver.Resolver:
        if configure:
            raise dns.resolver.NoResolverConfiguration("no nameservers")
        return real(configure=False)

    monkeypatch.setattr(dns.resolver, "Resolver", unconfigured)
    res = make_resolver(None)
    assert res.nameservers == ["127.0.0.1"]
