"""The ``limit`` parameter of ``/api/v1/status/tsdb``.

Prometheus 2.42 always lists the top 10 and ignores ``limit``; later releases
take a positive integer (default 10) and refuse anything else with
``bad_data``. We do the latter: a client written for either works.
"""

from __future__ import annotations

__all__ = ["DEFAULT_LIMIT", "tsdb_limit"]

DEFAULT_LIMIT = 10


def tsdb_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ValueError("limit must be a positive number")
    return limit
