"""The connection helpers the scraper and the notifier share."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

from metricslib.collector.config.http_client import TLSConfig
from metricslib.collector.config.http_connect import (
    HTTPSConnection,
    open_connection,
    request_target,
    time_left,
)


def test_request_target_keeps_the_query_and_defaults_the_path() -> None:
    assert request_target(urlsplit("http://h:1")) == "/"
    assert request_target(urlsplit("http://h:1/a/b?x=1&y=2")) == "/a/b?x=1&y=2"


def test_time_left_raises_the_callers_message_once_the_deadline_passed() -> None:
    assert 0 < time_left(time.monotonic() + 60, "late") <= 60
    with pytest.raises(TimeoutError, match=r"^late$"):
        time_left(time.monotonic() - 1, "late")


def test_open_connection_picks_the_class_by_scheme_and_sets_server_name() -> None:
    plain = open_connection(urlsplit("http://127.0.0.1:9/x"), lambda: 3.0, TLSConfig())
    assert type(plain) is http.client.HTTPConnection and plain.timeout == 3.0
    tls = open_connection(urlsplit("https://127.0.0.1:9/x"), lambda: 2.0, TLSConfig(server_name="alt"))
    assert isinstance(tls, HTTPSConnection) and tls._server_name == "alt" and tls.timeout == 2.0


def test_an_unsupported_scheme_fails_before_the_deadline_is_asked() -> None:
    def expired() -> float:
        raise AssertionError("timeout asked for a bad scheme")

    with pytest.raises(http.client.HTTPException, match="unsupported URL scheme 'ftp'"):
        open_connection(urlsplit("ftp://h/x"), expired, TLSConfig())
