"""Embedded, durable sample storage: append through an Appender, read through a Querier."""

from metricslib.collector.storage.base import Appender, Querier, Storage

__all__ = ["Appender", "Querier", "Storage"]
