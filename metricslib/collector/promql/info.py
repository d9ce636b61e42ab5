"""The experimental ``info()`` function: adds the data labels of matching info
series (``target_info`` by default) to each series, joined on ``instance``/``job``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metricslib.collector.model import METRIC_NAME, Labels, Matcher
from metricslib.collector.promql.values import Block, FloatArray

__all__ = [
    "INFO_IDENTIFYING_LABELS",
    "info_enrich",
]


INFO_IDENTIFYING_LABELS = ("instance", "job")


def info_enrich(
    base: Block, infos: Block, info_sample_times: FloatArray, name_matchers: Sequence[Matcher],
    data_matchers: Sequence[Matcher],
) -> Block:
    """Add to each base series, at each time, the data labels of the info series that share
    its identifying labels. Among several info series of one metric for the same identity,
    the one with the newest sample wins. A data matcher that rejects "" drops base samples
    it finds no match for; info series themselves pass through unchanged."""
    n = base.n_times
    wanted = {m.name for m in data_matchers}
    by_identity: dict[tuple[str, ...], list[int]] = {}
    for i, lbl in enumerate(infos.labels):
        d = dict(lbl)
        by_identity.setdefault(tuple(d.get(k, "") for k in INFO_IDENTIFYING_LABELS), []).append(i)
    out_labels: list[Labels] = []
    out_rows: list[int] = []
    out_masks: list[np.ndarray] = []
    for b, lbl in enumerate(base.labels):
        d = dict(lbl)
        if all(m.matches(d.get(m.name, "")) for m in name_matchers):
            out_labels.append(lbl)
            out_rows.append(b)
            out_masks.append(base.present[b])
            continue
        candidates = by_identity.get(tuple(d.get(k, "") for k in INFO_IDENTIFYING_LABELS), [])
        variants: dict[Labels, np.ndarray] = {}
        for t in np.flatnonzero(base.present[b]):
            newest: dict[str, int] = {}
            for i in candidates:
                if not infos.present[i, t]:
                    continue
                metric = dict(infos.labels[i]).get(METRIC_NAME, "")
                j = newest.get(metric)
                if j is None or info_sample_times[i, t] > info_sample_times[j, t]:
                    newest[metric] = i
            extra: dict[str, str] = {}
            for i in newest.values():
                for k, v in infos.labels[i]:
                    if k == METRIC_NAME or k in INFO_IDENTIFYING_LABELS or k in d:
                        continue
                    if wanted and k not in wanted:
                        continue
                    extra.setdefault(k, v)
            if not all(m.matches(extra.get(m.name, d.get(m.name, ""))) for m in data_matchers):
                continue
            key = tuple(sorted({**d, **extra}.items()))
            mask = variants.get(key)
            if mask is None:
                mask = variants[key] = np.zeros(n, dtype=bool)
            mask[t] = True
        for key, mask in variants.items():
            out_labels.append(key)
            out_rows.append(b)
            out_masks.append(mask)
    if not out_labels:
        return Block.empty(n)
    rows = np.asarray(out_rows, dtype=np.intp)
    return Block(out_labels, base.values[rows], np.array(out_masks),
                 [base.drop_name[r] for r in out_rows]).consolidate()
