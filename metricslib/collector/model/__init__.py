"""The collector's shared vocabulary: label sets, matchers, series and the staleness marker.

Every stage of the collector (scrape, storage, promql, web) speaks in these
terms; this package imports nothing from any of them. The names are
re-exported here so that ``from metricslib.collector.model import Labels``
is the one spelling everywhere; ``regex``, ``relabel`` and ``value_text``
are imported by module.
"""

from metricslib.collector.model.labels import (
    METRIC_NAME,
    Labels,
    labels_get,
    labels_to_dict,
    make_labels,
    metric_name,
)
from metricslib.collector.model.matchers import Matcher, MatchOp
from metricslib.collector.model.series import Series, SeriesBatch
from metricslib.collector.model.staleness import STALE_NAN, STALE_NAN_BITS, is_stale_nan

__all__ = [
    "METRIC_NAME",
    "STALE_NAN",
    "STALE_NAN_BITS",
    "Labels",
    "MatchOp",
    "Matcher",
    "Series",
    "SeriesBatch",
    "is_stale_nan",
    "labels_get",
    "labels_to_dict",
    "make_labels",
    "metric_name",
]
