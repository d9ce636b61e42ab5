"""Every exception metricslib raises, in one tree.

Bad input is a ``ValueError`` (so ``except ValueError`` keeps working for code
written against ``prometheus_client``); everything else derives from
``MetricslibError`` alone::

    MetricslibError
     ├── InvalidMetricError (ValueError) ........ bad instrument definition or use
     │    ├── InvalidNameError .................. metric or label name breaks the grammar
     │    ├── InvalidLabelsError ................ reserved label, wrong count, unknown label
     │    ├── InvalidValueError ................. e.g. negative counter increment
     │    ├── InvalidBucketsError ............... unsorted, duplicated or empty buckets
     │    └── DuplicateMetricError .............. a registry already holds that name
     ├── ParseError (ValueError) ................ exposition text that is not valid (has .line)
     ├── ConfigError (ValueError) ............... prometheus.yml problem (has .file, .key_path)
     ├── PushError .............................. a push gateway refused or failed a push
     │    └── PushRejectedError ................. the gateway answered non-2xx (has .status, .body)
     ├── MultiprocessError ...................... multi-worker aggregation misconfigured
     ├── StorageError ........................... the embedded store failed
     │    ├── OutOfOrderSampleError (ValueError)  sample older than the series' newest
     │    └── StorageCorruptionError ............ on-disk data cannot be read
     └── QueryError ............................. a PromQL query failed (has .error_type)
          ├── PromQLParseError (ValueError) ..... syntax or type error (has .position)
          ├── QueryExecutionError ............... runtime error, e.g. many-to-many matching
          ├── QueryTimeoutError ................. the query ran past its time limit
          ├── TooManySamplesError ............... the query loaded more samples than allowed
          └── QueryProcessError ................. the query process died or was stopped

Messages say what happened and why, naming the offending value, label, line or
key, so a user can fix the input without reading our source.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateMetricError",
    "InvalidBucketsError",
    "InvalidLabelsError",
    "InvalidMetricError",
    "InvalidNameError",
    "InvalidValueError",
    "MetricslibError",
    "MultiprocessError",
    "OutOfOrderSampleError",
    "ParseError",
    "PromQLParseError",
    "PushError",
    "PushRejectedError",
    "QueryError",
    "QueryExecutionError",
    "QueryProcessError",
    "QueryTimeoutError",
    "StorageCorruptionError",
    "StorageError",
    "TooManySamplesError",
]


class MetricslibError(Exception):
    """Base of every exception raised by metricslib."""


# --- SDK: defining and using instruments -------------------------------------------------


class InvalidMetricError(MetricslibError, ValueError):
    """An instrument was defined or used with input that cannot be valid."""


class InvalidNameError(InvalidMetricError):
    """A metric or label name does not follow the Prometheus naming rules."""


class InvalidLabelsError(InvalidMetricError):
    """Label names or values do not fit the metric (reserved, missing, extra)."""


class InvalidValueError(InvalidMetricError):
    """A value cannot be applied, e.g. a negative increment on a counter."""


class InvalidBucketsError(InvalidMetricError):
    """Histogram buckets are empty, unsorted or duplicated."""


class DuplicateMetricError(InvalidMetricError):
    """A registry already holds a collector exposing one of the same names."""


# --- exposition text, configuration, pushing ---------------------------------------------


class ParseError(MetricslibError, ValueError):
    """Exposition text is malformed. ``line`` is 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


class ConfigError(MetricslibError, ValueError):
    """A configuration file is invalid; names the file and the key path."""

    def __init__(self, message: str, file: str = "", key_path: str = "") -> None:
        self.file = file
        self.key_path = key_path
        where = ": ".join(part for part in (file, key_path) if part)
        super().__init__(f"{where}: {message}" if where else message)


class PushError(MetricslibError):
    """A push gateway answered with an error status or could not be reached."""


class PushRejectedError(PushError):
    """The gateway answered with an error status; ``status`` and its ``body`` are kept."""

    def __init__(self, message: str, status: int, body: str = "") -> None:
        self.status = status
        self.body = body
        super().__init__(message)


class MultiprocessError(MetricslibError):
    """Multi-worker aggregation is set up wrongly (e.g. no writable directory)."""


# --- collector storage -------------------------------------------------------------------


class StorageError(MetricslibError):
    """The embedded store could not complete an operation."""


class OutOfOrderSampleError(StorageError, ValueError):
    """A sample is older than, or conflicts with, the newest sample of its series."""


class StorageCorruptionError(StorageError):
    """Data on disk cannot be decoded."""


# --- PromQL ------------------------------------------------------------------------------


class QueryError(MetricslibError):
    """A query failed; ``error_type`` is Prometheus's ``errorType`` for the API."""

    error_type = "execution"


class PromQLParseError(QueryError, ValueError):
    """The query text is not valid PromQL; ``position`` is a 0-based offset."""

    error_type = "bad_data"

    def __init__(self, message: str, position: int = 0) -> None:
        self.position = position
        super().__init__(message)


class QueryExecutionError(QueryError):
    """Evaluation failed, e.g. many-to-many matching or duplicate output series."""


class QueryTimeoutError(QueryError):
    """The query ran longer than its time limit."""

    error_type = "timeout"


class TooManySamplesError(QueryError):
    """The query loaded more samples than the configured maximum."""


class QueryProcessError(QueryError):
    """The process answering the query died (it is replaced) or the collector is stopping."""

    error_type = "internal"
