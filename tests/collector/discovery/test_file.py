"""Discovery: file_sd_configs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from metricslib.collector.config.config import FileSDConfig
from metricslib.collector.config.durations import Duration
from metricslib.collector.discovery.file import FileProvider, parse_target_groups
from tests.collector.discovery.helpers import addresses, write


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
