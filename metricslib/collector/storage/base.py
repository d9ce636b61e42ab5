"""The two faces of the store: what scraping writes through, what queries read through.

``scrape`` imports only :class:`Appender`; ``promql`` and ``api`` only
:class:`Querier`. Times are integer milliseconds since the Unix epoch and
ranges are inclusive at both ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from metricslib.collector.model import Labels, Matcher, Series

__all__ = ["Appender", "Querier", "Storage"]


class Appender(Protocol):
    """A batch of samples that becomes visible to queries all at once on commit."""

    def append(self, labels: Labels, t_ms: int, value: float) -> object:
        """Queue one sample (what it returns is the store's business, e.g. a series ref). Raises OutOfOrderSampleError for a sample older than the
        series' newest committed one (or at the same time with another value); the
        caller counts it and carries on with the rest of the batch."""

    def commit(self) -> None:
        """Make every queued sample visible and durable by the next flush."""

    def rollback(self) -> None:
        """Drop every queued sample."""


class Querier(Protocol):
    """Read access to a consistent view of the store."""

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int) -> list[Series]:
        """Series matching all matchers with at least one sample in [mint_ms, maxt_ms],
        each with its samples in that range (staleness markers included), sorted by
        labels."""

    def label_names(
        self, matchers: Sequence[Matcher] = (), mint_ms: int | None = None, maxt_ms: int | None = None
    ) -> list[str]:
        """Sorted label names of the matching series (all series if no matchers)."""

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        mint_ms: int | None = None,
        maxt_ms: int | None = None,
    ) -> list[str]:
        """Sorted distinct values of label ``name`` over the matching series."""


class Storage(Protocol):
    def appender(self) -> Appender: ...

    def querier(self) -> Querier: ...

    def close(self) -> None: ...
