"""Pushing to a Prometheus Pushgateway, with prometheus_client's semantics.

``push_to_gateway`` (PUT) replaces every metric of the group,
``pushadd_to_gateway`` (POST) replaces only the metrics with the same names,
``delete_from_gateway`` (DELETE) removes the group. The group is
``/metrics/job/<job>{/<label>/<value>}``; a job or label value that is empty or
holds anything but unreserved URL characters is sent base64url-encoded as
``<label>@base64/<encoded>``, which the Pushgateway decodes. Failures raise
``PushError`` carrying the HTTP status and the gateway's message.

Handlers have prometheus_client's shape, ``handler(url, method, timeout,
headers, data)`` returning a callable that performs the request, so custom
handlers written for prometheus_client keep working.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from .errors import PushError, PushRejectedError
from .model import validate_label_name

__all__ = [
    "basic_auth_handler",
    "default_handler",
    "delete_from_gateway",
    "push_to_gateway",
    "pushadd_to_gateway",
]

Handler = Callable[[str, str, float | None, list[tuple[str, str]], bytes], Callable[[], None]]

_PLAIN = re.compile(r"^[A-Za-z0-9_.~-]+$")
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _segment(name: str, value: str) -> str:
    """``name/value``, or ``name@base64/<base64url>`` when the value needs it."""
    if _PLAIN.match(value):
        return f"{name}/{value}"
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
    # The gateway's convention: an empty value is written as a single "=".
    return f"{name}@base64/{encoded or '='}"


def group_path(job: str, grouping_key: Mapping[str, Any] | None = None) -> str:
    """``/metrics/job/<job>/<label>/<value>...`` with values encoded as needed."""
    if not isinstance(job, str) or not job:
        raise PushError(f"job must be a non-empty string, got {job!r}")
    parts = ["/metrics", _segment("job", job)]
    for name, value in (grouping_key or {}).items():
        validate_label_name(name)
        if name == "job":
            raise PushError("grouping_key must not contain 'job': pass it as the job argument")
        parts.append(_segment(name, str(value)))
    return "/".join(parts)


def _base_url(gateway: str) -> str:
    if "://" not in gateway:
        gateway = "http://" + gateway
    return gateway.rstrip("/")


def default_handler(
    url: str,
    method: str,
    timeout: float | None,
    headers: list[tuple[str, str]],
    data: bytes,
) -> Callable[[], None]:
    """Plain HTTP(S) through urllib; raises PushError on any non-2xx answer."""

    def handle() -> None:
        request = urllib.request.Request(url, data=data or None, method=method)
        for key, value in headers:
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            with exc:  # closes the connection the error response holds
                message = exc.read().decode("utf-8", errors="replace").strip()
            raise PushRejectedError(
                f"{method} {url} failed: HTTP {exc.code}: {message or exc.reason}",
                status=exc.code,
                body=message,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PushError(f"{method} {url} failed: {reason}") from exc

    return handle


def basic_auth_handler(
    url: str,
    method: str,
    timeout: float | None,
    headers: list[tuple[str, str]],
    data: bytes,
    username: str | None = None,
    password: str | None = None,
) -> Callable[[], None]:
    """``default_handler`` plus an ``Authorization: Basic`` header.

    Bind the credentials with a lambda or ``functools.partial``::

        handler=lambda *a: basic_auth_handler(*a, username="u", password="p")
    """
    if username is not None and password is not None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers = [*headers, ("Authorization", f"Basic {token}")]
    return default_handler(url, method, timeout, headers, data)


def _send(
    method: str,
    gateway: str,
    job: str,
    registry: Any,
    grouping_key: Mapping[str, Any] | None,
    timeout: float | None,
    handler: Handler,
) -> None:
    url = _base_url(gateway) + group_path(job, grouping_key)
    data = b""
    if registry is not None:
        from .exposition import generate_latest

        data = generate_latest(registry)
    handler(url, method, timeout, [("Content-Type", _CONTENT_TYPE)], data)()


def push_to_gateway(
    gateway: str,
    job: str,
    registry: Any,
    grouping_key: Mapping[str, Any] | None = None,
    timeout: float | None = 30,
    handler: Handler = default_handler,
) -> None:
    """PUT: the group afterwards holds exactly the metrics of ``registry``.

    ``gateway`` is ``host:port`` or a URL (``http://`` is assumed).
    """
    _send("PUT", gateway, job, registry, grouping_key, timeout, handler)


def pushadd_to_gateway(
    gateway: str,
    job: str,
    registry: Any,
    grouping_key: Mapping[str, Any] | None = None,
    timeout: float | None = 30,
    handler: Handler = default_handler,
) -> None:
    """POST: replaces only the metrics of the group that ``registry`` also has."""
    _send("POST", gateway, job, registry, grouping_key, timeout, handler)


def delete_from_gateway(
    gateway: str,
    job: str,
    grouping_key: Mapping[str, Any] | None = None,
    timeout: float | None = 30,
    handler: Handler = default_handler,
) -> None:
    """DELETE: removes every metric of the group."""
    _send("DELETE", gateway, job, None, grouping_key, timeout, handler)
