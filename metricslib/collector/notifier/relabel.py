"""Alert labels on their way out: external labels added, then ``alert_relabel_configs``.

An external label is added only when the alert does not have the label
already (a rule's own label wins), and the relabel rules see the external
labels, as in Prometheus, so they can drop or rewrite them (the usual use:
``labeldrop`` of a ``replica`` label so that HA pairs deduplicate). An alert
whose labels a rule drops is not sent; labels left empty are removed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from metricslib.collector.model.relabel import RelabelConfig, relabel
from metricslib.collector.notifier.alert import Alert

__all__ = ["relabel_alerts"]


def relabel_alerts(
    alerts: Sequence[Alert], external_labels: Mapping[str, str], rules: Sequence[RelabelConfig]
) -> list[Alert]:
    out = []
    for alert in alerts:
        labels = dict(alert.labels)
        for name, value in external_labels.items():
            if not labels.get(name):
                labels[name] = value
        result = relabel(labels, rules) if rules else labels
        if result is None:
            continue
        final = {k: v for k, v in sorted(result.items()) if v}
        out.append(alert if final == alert.labels else dataclasses.replace(alert, labels=final))
    return out
