"""Twin drift in the service: cells that stop behaving like the tenant's calibrated twin.

:class:`DriftWatch` advances the drift counters (:func:`twinrca.twin_replay.drift.step_drift`)
over the KPIs that arrived since its last check (at most every ``every`` of data time),
keeps them in the store's state (a restart goes on where it stopped) and stores every
finding that opened, became lasting or closed as a document of kind ``drift`` (id
``cell|kpi|onset``). :class:`~twinrca.runtime.twin_calibration.TwinCalibrator` runs it
after each refit check and refits the cells of lasting findings on their data since the
onset (:meth:`DriftWatch.mark_refitted` then closes those findings as ``refitted``).

:func:`drift_evidence` is the diagnosis' read side: the drift findings of a set of
elements, open ones first; :func:`drift_input` lays the findings that overlap an
incident into its KPI evidence (a cell below its twin's throughput is the same symptom
as a KPI anomaly, seen against the calibrated twin instead of the cell's own history),
so a silent fault the KPI baseline missed still reaches the diagnoser.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.errors import TwinRCAError
from twinrca.detect.detector import DetectedIncident
from twinrca.store.base import Store
from twinrca.twin_replay.calibration import Calibration, kpi_grids
from twinrca.twin_replay.drift import DRIFT_KPIS, DriftFinding, DriftState, standardize, step_drift

__all__ = ["DRIFT_KIND", "DriftWatch", "drift_evidence", "drift_input"]

log = logging.getLogger(__name__)

DRIFT_KIND = "drift"
_STATE_KEY = "twin.drift.state"


class DriftWatch:
    """The tenant's drift counters and findings (data time)."""

    def __init__(
        self,
        store: Store,
        *,
        every: timedelta = timedelta(hours=1),
        max_span: timedelta = timedelta(days=3),
    ) -> None:
        self.store = store
        self.every = every
        self.max_span = max_span
        self.state: DriftState | None = self._load()

    def _load(self) -> DriftState | None:
        raw = self.store.get_state(_STATE_KEY)
        if not raw:
            return None
        try:
            return DriftState.from_json(json.loads(raw.decode()))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("stored drift state unreadable (%s): starting afresh", exc)
            return None

    def _save(self) -> None:
        if self.state is not None:
            body = json.dumps(self.state.to_json(), separators=(",", ":"))
            self.store.put_state(_STATE_KEY, body.encode())

    def check(
        self,
        cal: Calibration,
        now: pd.Timestamp,
        *,
        since: pd.Timestamp | None,
        version: int | None = None,
    ) -> list[DriftFinding] | None:
        """Advance over the KPIs up to ``now`` (from the last check, or ``since`` the
        calibration's data end the first time); store and return the findings (None:
        not checked, too soon or no KPIs)."""
        if cal.drift is None:
            return None
        now = pd.Timestamp(now)
        state = (self.state or DriftState.new(cal.cells)).for_cells(cal.cells)
        last = pd.Timestamp(state.last, unit="s", tz="UTC") if state.last else None
        if last is not None and now - last < self.every:
            return None
        start = last if last is not None else (since if since is not None else now - self.every)
        start = max(pd.Timestamp(start), now - self.max_span)
        kpis = self.store.read_kpis(
            start,
            now + timedelta(seconds=1),
            managed_objects=list(cal.cells),
            measurements=[*DRIFT_KPIS, "availability"],
        )
        if kpis.empty:
            return None
        try:
            times, _, grids = kpi_grids(kpis, list(cal.cells), step_minutes=cal.step_minutes)
        except TwinRCAError as exc:
            log.info("drift check skipped: %s", exc)
            return None
        state, found = step_drift(state, times, standardize(cal, times, grids), cal.drift,
                                  cal.step_minutes)  # fmt: skip
        self.state = state
        for f in found:
            self._put(f.doc_id, f.to_json() | {"calibration_version": version})
        self._save()
        if found:
            log.info(
                "twin drift: %s",
                ", ".join(f"{f.element} {f.kpi} {f.state}{' lasting' if f.lasting else ''}"
                          for f in found),
            )  # fmt: skip
        return found

    def _put(self, doc_id: str, doc: dict[str, Any]) -> None:
        stored = self.store.get_document(DRIFT_KIND, doc_id)
        if stored != doc:
            self.store.put_document(DRIFT_KIND, doc_id, doc)

    def open_cells(self) -> set[str]:
        """Cells with an open finding."""
        docs = self.store.list_documents(DRIFT_KIND, where={"state": "open"}, limit=100_000)
        return {str(d["element"]) for d in docs}

    def lasting(self) -> list[dict[str, Any]]:
        """Open lasting findings (the cells to refit)."""
        return self.store.list_documents(DRIFT_KIND, where={"state": "open", "lasting": True})

    def mark_refitted(self, cells: Iterable[str]) -> None:
        """Close the open findings of ``cells`` as refitted and restart their counters."""
        cells = set(cells)
        for doc in self.store.list_documents(DRIFT_KIND, where={"state": "open"}, limit=100_000):
            if doc["element"] in cells:
                doc_id = f"{doc['element']}|{doc['kpi']}|{doc['onset']}"
                self.store.put_document(DRIFT_KIND, doc_id, doc | {"state": "refitted"})
        if self.state is not None:
            self.state.reset(sorted(cells))
            self._save()


def drift_evidence(
    store: Store, elements: Iterable[str], *, limit: int = 10_000
) -> dict[str, list[dict[str, Any]]]:
    """Drift findings per element of ``elements`` (open first, then newest onset):
    evidence that a cell no longer behaves like its twin (a silent fault, a change)."""
    wanted = set(elements)
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in store.list_documents(DRIFT_KIND, limit=limit):
        if doc.get("element") in wanted:
            out.setdefault(doc["element"], []).append(doc)
    for docs in out.values():
        docs.sort(key=lambda d: d["onset"], reverse=True)
        docs.sort(key=lambda d: d["state"] != "open")
    return out


_MARGIN = pd.Timedelta(hours=1)


def drift_input(store: Store, inc: DetectedIncident) -> DetectedIncident:
    """``inc`` with the drift findings of its elements and candidates that overlap it
    (onset before its end, open or out of band since its start, an hour's margin) added
    to its KPI anomalies, one row per cell, KPI and direction not already there (value
    and expected NaN, ``z`` the finding's mean standardized residual)."""
    ev = inc.evidence
    elements = {*ev.candidates, *inc.group.elements}
    found = drift_evidence(store, elements) if elements else {}
    if not found:
        return inc
    start, end = pd.Timestamp(inc.group.start), pd.Timestamp(inc.group.end)
    an = ev.anomalies
    have = set()
    if len(an):
        d = np.sign(an["direction"].to_numpy()).astype(int)
        have = set(
            zip(an["managed_object"].astype(str), an["measurement"].astype(str), d, strict=True)
        )
    rows = []
    for cell, docs in found.items():
        for doc in docs:
            key = (cell, str(doc["kpi"]), int(np.sign(doc["direction"])))
            onset, last = pd.Timestamp(doc["onset"]), pd.Timestamp(doc["last_out"])
            live = doc["state"] == "open" or last >= start - _MARGIN
            if key in have or onset > end + _MARGIN or not live:
                continue
            have.add(key)
            rows.append(
                {"managed_object": cell, "measurement": key[1], "period_end": last,
                 "value": np.nan, "expected": np.nan, "z": float(doc["z_mean"]),
                 "direction": key[2]}
            )  # fmt: skip
    if not rows:
        return inc
    added = pd.DataFrame(rows)
    added["period_end"] = pd.to_datetime(added["period_end"], utc=True)
    merged = added if not len(an) else pd.concat([an, added], ignore_index=True)
    return dataclasses.replace(inc, evidence=dataclasses.replace(ev, anomalies=merged))
