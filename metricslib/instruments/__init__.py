"""The instruments: Counter, Gauge, Histogram, Summary, Info, Enum."""

from metricslib.instruments.counter import Counter, CounterChild
from metricslib.instruments.gauge import Gauge, GaugeChild
from metricslib.instruments.histogram import DEFAULT_BUCKETS, Histogram, HistogramChild
from metricslib.instruments.info_enum import Enum, EnumChild, Info, InfoChild
from metricslib.instruments.summary import Summary, SummaryChild

__all__ = [
    "DEFAULT_BUCKETS",
    "Counter",
    "CounterChild",
    "Enum",
    "EnumChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "Info",
    "InfoChild",
    "Summary",
    "SummaryChild",
]
