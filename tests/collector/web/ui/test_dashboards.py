"""Dashboards from files: Grafana's exported JSON and our YAML become one model; bad files are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from metricslib.collector.web.ui.dashboards import DashboardSet, load_dashboard, load_dashboards
from metricslib.errors import ConfigError

DATA = Path(__file__).parent / "data"
SCENARIO = Path(__file__).resolve().parents[4] / "examples" / "dashboards" / "scenario.yml"


def test_grafana_export_loads_as_it_is() -> None:
    board = load_dashboard(DATA / "grafana_fleet.json")
    assert (board.uid, board.title, board.tags) == ("fleet", "Fleet (exported from Grafana)", ("exported",))
    assert [p["type"] for p in board.model["panels"]] == ["timeseries", "graph", "row", "stat", "table", "piechart"]
    assert board.model["templating"]["list"][0]["query"]["query"] == "label_values(up, job)"


def test_the_http_api_envelope_is_unwrapped(tmp_path: Path) -> None:
    inner = json.loads((DATA / "grafana_fleet.json").read_text())
    (tmp_path / "wrapped.json").write_text(json.dumps({"dashboard": inner, "meta": {"slug": "fleet"}}))
    assert load_dashboard(tmp_path / "wrapped.json").uid == "fleet"


def test_yaml_panels_flow_left_to_right_on_the_24_column_grid() -> None:
    board = load_dashboard(SCENARIO)
    grid = [p["gridPos"] for p in board.model["panels"]]
    assert grid[:4] == [{"x": 0, "y": 0, "w": 12, "h": 8}, {"x": 12, "y": 0, "w": 12, "h": 8},
                        {"x": 0, "y": 8, "w": 12, "h": 8}, {"x": 12, "y": 8, "w": 12, "h": 8}]
    assert grid[4:] == [{"x": 0, "y": 16, "w": 6, "h": 4}, {"x": 6, "y": 16, "w": 18, "h": 4}]
    memory = board.model["panels"][2]
    assert memory["fieldConfig"]["defaults"]["unit"] == "bytes"
    assert memory["targets"] == [{"expr": 'process_resident_memory_bytes{job=~"$job"}', "legendFormat": "{{job}} {{instance}}", "refId": "A"}]
    assert board.model["panels"][3]["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    (var,) = board.model["templating"]["list"]
    assert var == {"name": "job", "type": "query", "query": "label_values(up, job)", "multi": True,
                   "includeAll": True, "label": "Job", "refresh": 1}
    assert board.model["time"] == {"from": "now-15m", "to": "now"}


def test_grafana_rows_repeats_annotations_and_time_zone_load_as_exported() -> None:
    board = load_dashboard(DATA / "grafana_features.json")
    assert board.model["timezone"] == "utc"
    assert [a["name"] for a in board.model["annotations"]["list"]] == ["Annotations & Alerts", "Billing up", "Disabled", "Deploys"]
    panels = board.model["panels"]
    assert [(p["type"], p.get("repeat")) for p in panels if p["type"] == "row"] == [
        ("row", None), ("row", "job"), ("row", None), ("row", None)]
    assert [p["title"] for p in panels[4]["panels"]] == ["Hidden stat", "Hidden chart"]
    assert [v["refresh"] for v in board.model["templating"]["list"]] == [1, 1, 0, 1, 2]


def test_yaml_repeats_variable_refresh_and_time_zone(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(
        "timezone: utc\nvariables:\n  - name: instance\n    query: label_values(up, instance)\n    refresh: time\n"
        "    multi: true\npanels:\n  - title: CPU $instance\n    expr: up{instance=~\"$instance\"}\n"
        "    repeat: instance\n    repeat_direction: h\n    max_per_row: 3\n")
    board = load_dashboard(tmp_path / "r.yml")
    assert board.model["timezone"] == "utc"
    assert board.model["templating"]["list"][0]["refresh"] == 2
    panel = board.model["panels"][0]
    assert (panel["repeat"], panel["repeatDirection"], panel["maxPerRow"]) == ("instance", "h", 3)


def test_uid_defaults_to_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "My Board.yml").write_text("title: Mine\npanels:\n  - expr: up\n")
    assert load_dashboard(tmp_path / "My Board.yml").uid == "my-board"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '{"panels": [}', "a.json: invalid JSON: Expecting value (line 1, column 13)"),
        ("b.json", '{"panels": {"x": 1}}', "b.json: panels: must be a list of panels"),
        ("c.json", '{"panels": [{"type": "graph", "gridPos": {"x": "left"}}]}', "c.json: panels[0].gridPos.x: must be an integer"),
        ("d.yml", "panels:\n  - title: t\n", "d.yml: panels[0]: needs `expr` or `targets`"),
        ("e.yml", "panels:\n  - expr: up\n    colour: red\n", "e.yml: panels[0].colour: unknown panel key"),
        ("f.yml", "panels:\n  - expr: up\n    width: 30\n", "f.yml: panels[0].width: must be 1 to 24 columns"),
        ("g.yml", "panels: [\n", "g.yml: invalid YAML"),
        ("h.yml", "uid: 'a b'\npanels: []\n", "h.yml: uid: must be 1 to 40"),
        ("i.yml", "variables:\n  - label: x\npanels: []\n", "i.yml: variables[0].name: every variable needs a name"),
        ("j.json", '{"panels": [{"type": "stat", "repeat": "x", "repeatDirection": "up"}]}',
         "j.json: panels[0].repeatDirection: must be 'h' (across) or 'v' (down)"),
        ("k.json", '{"panels": [{"type": "row", "panels": [{"type": "stat", "maxPerRow": 0}]}]}',
         "k.json: panels[0].panels[0].maxPerRow: must be a positive integer"),
        ("l.json", '{"panels": [], "annotations": {"list": [{"name": "a", "expr": ["up"]}]}}',
         "l.json: annotations.list[0].expr: must be a string"),
        ("m.json", '{"panels": [], "timezone": 3}', "m.json: timezone: must be"),
        ("n.yml", "panels:\n  - expr: up\n    repeat: job\n    repeat_direction: down\n",
         "n.yml: panels[0].repeat_direction: must be 'h' (across) or 'v' (down)"),
        ("o.yml", "variables:\n  - name: x\n    query: label_values(up, job)\n    refresh: always\npanels: []\n",
         "o.yml: variables[0].refresh: must be 'load' or 'time'"),
    ],
)
def test_bad_files_are_named_with_the_key(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as info:
        load_dashboard(tmp_path / name)
    assert message in str(info.value)


def test_duplicate_uids_name_both_files_and_every_problem_is_listed(tmp_path: Path) -> None:
    shutil.copy(DATA / "grafana_fleet.json", tmp_path / "a.json")
    shutil.copy(DATA / "grafana_fleet.json", tmp_path / "b.json")
    (tmp_path / "c.yml").write_text("panels: 3\n")
    with pytest.raises(ConfigError) as info:
        load_dashboards([str(tmp_path)])
    text = str(info.value)
    assert "b.json: uid 'fleet' is already used by" in text and "a.json" in text
    assert "c.yml: panels: must be a list" in text


def test_a_bad_reload_keeps_every_board(tmp_path: Path) -> None:
    shutil.copy(DATA / "grafana_fleet.json", tmp_path / "fleet.json")
    boards = DashboardSet([str(tmp_path)])
    (tmp_path / "broken.yml").write_text("panels: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yml"):
        boards.reload()
    assert [b["uid"] for b in boards.summaries()] == ["fleet"]
    (tmp_path / "broken.yml").write_text("uid: new\ntitle: A new board\npanels:\n  - expr: up\n")
    boards.reload()
    assert [b["uid"] for b in boards.summaries()] == ["new", "fleet"]


def test_the_api_answers_the_list_one_board_and_404(tmp_path: Path) -> None:
    shutil.copy(DATA / "grafana_fleet.json", tmp_path / "fleet.json")
    boards = DashboardSet([str(tmp_path)])
    status, body = boards.answer("/api/ui/dashboards")
    assert status == 200 and json.loads(body)["data"][0]["uid"] == "fleet"
    status, body = boards.answer("/api/ui/dashboards/fleet")
    assert status == 200 and json.loads(body)["data"]["title"] == "Fleet (exported from Grafana)"
    status, body = boards.answer("/api/ui/dashboards/nope")
    assert status == 404 and "nope" in json.loads(body)["error"]


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        DashboardSet([str(tmp_path / "absent")])
