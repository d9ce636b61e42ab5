"""The admin API's answers, compared with what Prometheus 2.42 gives (captured from the real binary)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from metricslib.collector.model import Matcher
from metricslib.collector.web.api.admin import AdminAPI
from metricslib.collector.web.api.params import MAX_TIME_MS, MIN_TIME_MS
from metricslib.collector.web.api.v1 import Request
from tests.collector.fakes import simple_selector


class FakeTSDB:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def delete_series(self, matcher_sets: Sequence[Sequence[Matcher]], mint_ms: int, maxt_ms: int) -> int:
        self.calls.append(("delete", [list(m) for m in matcher_sets], mint_ms, maxt_ms))
        return 1

    def clean_tombstones(self) -> None:
        self.calls.append(("clean",))

    def snapshot(self, *, skip_head: bool = False) -> str:
        self.calls.append(("snapshot", skip_head))
        return "20261207T171747Z-39a6d144e1468509"


def api(enabled: bool = True) -> tuple[AdminAPI, FakeTSDB]:
    tsdb = FakeTSDB()
    return AdminAPI(tsdb, simple_selector, enabled=enabled), tsdb


def call(admin: AdminAPI, method: str, name: str, **params: str) -> tuple[int, bytes]:
    response = admin.handle(Request(method, f"/api/v1/admin/tsdb/{name}", {k: [v] for k, v in params.items()}))
    return response.status, response.body


@pytest.mark.parametrize("name", ["delete_series", "clean_tombstones", "snapshot"])
def test_disabled_admin_api_answers_as_prometheus(name: str) -> None:
    admin, tsdb = api(enabled=False)
    for method in ("POST", "PUT"):
        assert call(admin, method, name) == (
            500,
            b'{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}',
        )
    status, body = call(admin, "GET", name)
    assert (status, body) == (405, b"Method Not Allowed\n")
    assert tsdb.calls == []


def test_delete_series_parameters() -> None:
    admin, tsdb = api()
    status, body = call(admin, "POST", "delete_series")
    assert status == 400
    assert json.loads(body) == {"status": "error", "errorType": "bad_data", "error": "no match[] parameter provided"}
    status, body = call(admin, "POST", "delete_series", **{"match[]": "up", "start": "abc"})
    assert status == 400
    assert json.loads(body)["error"] == (
        'invalid parameter "start": Invalid time value for \'start\': cannot parse "abc" to a valid timestamp'
    )
    assert tsdb.calls == []
    assert call(admin, "PUT", "delete_series", **{"match[]": "up"}) == (204, b"")
    assert call(admin, "POST", "delete_series", **{"match[]": "up", "start": "10", "end": "20.5"}) == (204, b"")
    assert [c[2:] for c in tsdb.calls] == [(MIN_TIME_MS, MAX_TIME_MS), (10_000, 20_500)]


def test_snapshot_and_clean_tombstones() -> None:
    admin, tsdb = api()
    status, body = call(admin, "POST", "snapshot", skip_head="true")
    assert (status, body) == (200, b'{"status":"success","data":{"name":"20261207T171747Z-39a6d144e1468509"}}')
    status, body = call(admin, "POST", "snapshot", skip_head="xyz")
    assert status == 400 and json.loads(body)["error"] == (
        'invalid parameter "skip_head": unable to parse boolean: strconv.ParseBool: parsing "xyz": invalid syntax'
    )
    assert call(admin, "POST", "snapshot")[0] == 200
    assert call(admin, "POST", "clean_tombstones") == (204, b"")
    assert tsdb.calls == [("snapshot", True), ("snapshot", False), ("clean",)]


def test_unknown_admin_path_is_not_found() -> None:
    admin, _ = api()
    assert call(admin, "POST", "compact")[0] == 404
