from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from metricslib.collector.config.config import FileSDConfig, parse_config
from metricslib.collector.config.durations import Duration
from metricslib.collector.discovery.providers import (
    FileProvider,
    JobDiscovery,
    StaticProvider,
    TargetGroup,
    make_resolver,
    parse_target_groups,
)


def addresses(groups: list[TargetGroup] | None) -> list[str]:
    assert groups is not None
    return [dict(t)["__address__"] for g in groups for t in g.targets]


def test_static_groups_are_sent_once() -> None:
    cfg = parse_config("scrape_configs:\n  - job_name: a\n    static_configs:\n"
                       "      - targets: [h:1, h:2]\n        labels: {env: p}\n      - targets: [h:3]\n")
    provider = StaticProvider(cfg.scrape_configs[0].static_configs)
    groups = provider.poll(0)
    assert addresses(groups) == ["h:1", "h:2", "h:3"]
    assert groups is not None and groups[0].labels == (("env", "p"),) and groups[0].source == "static/0"
    assert provider.poll(1) is None


def test_parse_target_groups_json_and_yaml() -> None:
    text = json.dumps([{"targets": ["a:1"], "labels": {"env": "dev"}}, {"targets": ["b:2"]}])
    groups = parse_target_groups(text, "/x/t.json")
    assert addresses(groups) == ["a:1", "b:2"]
    assert dict(groups[0].labels) == {"env": "dev", "__meta_filepath": "/x/t.json"}
    assert groups[1].source == "/x/t.json:1"
    assert addresses(parse_target_groups("- targets: [c:3]\n", "t.yml")) == ["c:3"]
    assert parse_target_groups("", "t.yml") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "invalid JSON at line 1"),
        ('{"targets": []}', "expected a list"),
        ('[{"targets": "a:1"}]', "[0].targets"),
        ('[{"targets": ["a:1"], "labels": {"1x": "v"}}]', "not a valid label name"),
        ('[{"targets": ["a:1"], "labels": {"x": 1}}]', "must be a string"),
        ('[{"targets": ["http://a/b"]}]', "not a valid hostname"),
        ('[{"target": ["a:1"]}]', "unknown key 'target'"),
    ],
)
def test_bad_file_content_is_rejected_with_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_target_groups(text, "f.json")


def write(path: Path, groups: list[dict[str, object]]) -> None:
    path.write_text(json.dumps(groups))


def test_file_provider_picks_up_changes_and_new_files(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    write(first, [{"targets": ["a:1"]}])
    provider = FileProvider(FileSDConfig((str(tmp_path / "*.json"),), Duration(300_000)))
    assert addresses(provider.poll(0)) == ["a:1"]
    assert provider.poll(1) is None  # nothing changed
    write(first, [{"targets": ["a:1", "a:2", "a:3"]}])
    os.utime(first, (1, 1))  # a different mtime even on coarse-grained filesystems
    assert addresses(provider.poll(2)) == ["a:1", "a:2", "a:3"]
    write(tmp_path / "b.json", [{"targets": ["b:1"]}])
    assert addresses(provider.poll(3)) == ["a:1", "a:2", "a:3", "b:1"]
    (tmp_path / "b.json").unlink()
    assert addresses(provider.poll(4)) == ["a:1", "a:2", "a:3"]


def test_file_provider_keeps_previous_targets_when_file_breaks(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    write(path, [{"targets": ["a:1"]}])
    provider = FileProvider(FileSDConfig((str(path),), Duration(300_000)))
    assert addresses(provider.poll(0)) == ["a:1"]
    path.write_text("[{broken")
    os.utime(path, (2, 2))
    assert provider.poll(1) is None
    assert "invalid JSON" in provider.errors[str(path)]
    write(path, [{"targets": ["a:9"]}])
    os.utime(path, (3, 3))
    assert addresses(provider.poll(2)) == ["a:9"]
    assert provider.errors == {}


def test_file_provider_rereads_on_refresh_interval(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text("- targets: [a:1]\n")
    provider = FileProvider(FileSDConfig((str(path),), Duration(10_000)))
    provider.poll(0)
    st = path.stat()
    path.write_text("- targets: [a:2]\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and same mtime: only the refresh sees it
    assert provider.poll(5) is None
    assert addresses(provider.poll(11)) == ["a:2"]


def test_job_discovery_combines_providers(tmp_path: Path) -> None:
    write(tmp_path / "t.json", [{"targets": ["f:1"]}])
    cfg = parse_config(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [s:1]\n"
        "    file_sd_configs:\n      - files: [t.json]\n", "p.yml", base_dir=str(tmp_path))
    disc = JobDiscovery(cfg.scrape_configs[0])
    assert addresses(disc.poll(0)) == ["s:1", "f:1"]
    assert disc.poll(1) is None
    assert disc.errors == {}


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
    from metricslib.collector.discovery.providers import DNSProvider

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
