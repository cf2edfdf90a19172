"""Keep the FMEA current with what the network does: re-rate occurrence and detection
from the incidents the service diagnosed (every change recorded in the store)."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from twinrca.core.incident import IncidentDoc
from twinrca.core.topology import Topology
from twinrca.fmea import RatingHistory, current_rows, rerate_from_incidents
from twinrca.store.base import Store

__all__ = ["rerate_from_service"]


def rerate_from_service(
    store: Store,
    incidents: list[IncidentDoc],
    topology: Topology,
    *,
    observed_days: float,
    who: str = "twinrca-service",
) -> int:
    """Re-rate from the diagnosed incidents of ``observed_days`` of this network; return
    the number of rating changes recorded."""
    rows = [
        {"failure_mode": d.candidates[0].failure_mode, "detected": bool(d.alarms)}
        for d in incidents
        if d.candidates
    ]
    if not rows:
        return 0
    kinds = Counter(str(e.kind) for e in topology)
    exposure = {kind: n * observed_days / 365.25 for kind, n in kinds.items()}
    history = RatingHistory.load(store)
    before = len(history)
    rerate_from_incidents(
        current_rows(history=history),
        pd.DataFrame(rows),
        exposure,
        history,
        who=who,
        source="service incidents",
    )
    history.save(store)
    return len(history) - before
