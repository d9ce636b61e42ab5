"""The ``stats`` object that ``stats=<anything>`` adds to a query's ``data``, as Prometheus 2.42 writes it.

``timings`` has Prometheus's six keys, in seconds. The engine is timed as a
whole: evaluation, inner evaluation and execution are that one figure; there
is no queue in front of the engine and no separate preparation or sort
phase to time, so those are 0. ``samples`` reports the most samples the
query held at once, counted as Prometheus 2.42 counts them (the figure its
``--query.max-samples`` limit is checked against) as ``peakSamples``, and the
same figure as ``totalQueryableSamples`` (Prometheus sums the samples read at
every step there; the engine does not count those).
"""

from __future__ import annotations

__all__ = ["query_stats"]


def query_stats(samples_loaded: int, seconds: float) -> dict[str, object]:
    return {
        "timings": {
            "evalTotalTime": seconds,
            "resultSortTime": 0,
            "queryPreparationTime": 0,
            "innerEvalTime": seconds,
            "execQueueTime": 0,
            "execTotalTime": seconds,
        },
        "samples": {"totalQueryableSamples": samples_loaded, "peakSamples": samples_loaded},
    }
