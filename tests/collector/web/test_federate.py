from metricslib.collector.model import STALE_NAN, Matcher, make_labels
from metricslib.collector.web.api.v1 import Request
from metricslib.collector.web.federate import federate, make_federate_handler
from tests.collector.fakes import list_querier, simple_selector
from tests.collector.promql.memstore import MemoryQuerier


def querier() -> MemoryQuerier:
    return list_querier(
        {
            make_labels({"__name__": "up", "job": "api", "instance": "a:1"}): [(1000, 1.0), (16000, 0.0)],
            make_labels({"__name__": "up", "job": "gone", "instance": "c:3"}): [(1000, 1.0), (16000, STALE_NAN)],
            make_labels({"__name__": "temp", "room": 'say "hi"\n'}): [(2000, 21.5)],
            make_labels({"__name__": "old", "job": "api"}): [(-400_000, 1.0)],
        }
    )


def test_federate_writes_latest_samples_with_timestamps_and_skips_stale() -> None:
    body = federate(querier(), [[Matcher("job", "=~", ".+")], [Matcher("__name__", "=", "temp")]], now_ms=20_000)
    assert body.decode().splitlines() == [
        "# TYPE temp untyped",
        'temp{room="say \\"hi\\"\\n"} 21.5 2000',
        "# TYPE up untyped",
        'up{instance="a:1",job="api"} 0.0 16000',
    ]


def test_external_labels_are_added_but_never_override() -> None:
    body = federate(querier(), [[Matcher("__name__", "=", "up")]], now_ms=20_000, external_labels={"job": "x", "dc": "eu"})
    assert 'up{dc="eu",instance="a:1",job="api"} 0.0 16000' in body.decode()


def test_handler_without_match_answers_200_empty_as_prometheus() -> None:
    handler = make_federate_handler(querier, simple_selector, lambda: 20.0, lambda: {})
    empty = handler(Request("GET", "/federate", {}))
    assert (empty.status, empty.body) == (200, b"")
    resp = handler(Request("GET", "/federate", {"match[]": ["up"]}))
    assert resp.status == 200 and resp.content_type.startswith("text/plain; version=0.0.4")


def test_handler_names_a_bad_selector() -> None:
    import json

    handler = make_federate_handler(querier, simple_selector, lambda: 20.0, lambda: {})
    resp = handler(Request("GET", "/federate", {"match[]": ["up", "{}"]}))
    body = json.loads(resp.body)
    assert resp.status == 400 and body["errorType"] == "bad_data"
    assert body["error"].startswith('invalid parameter "match[]"')
