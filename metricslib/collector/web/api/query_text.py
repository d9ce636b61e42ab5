"""``/api/v1/format_query`` and ``/api/v1/parse_query``: a query's canonical text and its tree.

``format_query`` answers as Prometheus 2.42 does: its prettified text
(``promql/parser/pretty.py``; ``printer.py`` holds Prometheus 3's spelling). ``parse_query`` is Prometheus 3's endpoint
(2.42 answers 404 there), with the tree of ``ast_json.py``. A query that does
not parse is ``bad_data`` with Prometheus's ``invalid parameter "query"``
message; ValueError carries it to the API's error envelope.
"""

from __future__ import annotations

from typing import Any

from metricslib.collector.promql.parser.ast import Expr
from metricslib.collector.promql.parser.parse import parse_expr
from metricslib.collector.promql.parser.pretty import pretty
from metricslib.collector.web.api.ast_json import ast_json

__all__ = ["format_query", "parse_query"]


def _parse(query: str | None) -> Expr:
    try:
        # Stock Prometheus's language: no experimental functions or duration expressions.
        return parse_expr(query or "", enable_experimental=False)
    except ValueError as exc:
        raise ValueError(f'invalid parameter "query": {exc}') from None


def format_query(query: str | None) -> str:
    return pretty(_parse(query))


def parse_query(query: str | None) -> Any:
    return ast_json(_parse(query))
