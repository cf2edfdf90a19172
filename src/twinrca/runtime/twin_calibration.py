"""The tenant's calibrated twin in the service: refitted on a schedule and on topology change.

:class:`TwinCalibrator` keeps the tenant's current :class:`Calibration` (loaded from the
store at start), and :meth:`TwinCalibrator.maybe_refit` fits a new one from the store's
KPIs of the last ``window`` of data time when none exists, when the last one is
``refit_every`` old (data time, default a day) or when the topology's cells changed
(the calibration's cell set differs). Every fit is a new version in the store, with its
fit window and held-out error; :meth:`TwinCalibrator.params` gives the cell parameters
in the topology's cell order (cells the calibration does not know keep the defaults).

Between refits a :class:`~twinrca.runtime.twin_drift.DriftWatch` compares the cells with
the calibrated twin (findings of kind ``drift`` in the store). A lasting finding (the
cell has not behaved like its twin for two days: a new carrier, a re-tilt) refits that
cell on its data since the onset (a new version, reason ``drift``); later scheduled
refits leave out that cell's data from before the onset (``refitted_cells``), keep
the drift refit of a cell whose post-onset data are still too few to fit, and keep the
parameters of a cell with an open finding (until its drift refit).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pandas as pd

from twinrca.core.errors import TwinRCAError
from twinrca.core.topology import ElementKind, Topology
from twinrca.runtime.twin_drift import DriftWatch
from twinrca.store.base import Store
from twinrca.twin_replay.calibration import KPI_FIELDS, Calibration, calibrate_kpis
from twinrca.twin_replay.simulate import CellParams

__all__ = ["TwinCalibrator", "cells_fingerprint"]

log = logging.getLogger(__name__)


def cells_fingerprint(topology: Topology) -> str:
    """A short hash of the topology's cell ids (a changed set: a new calibration)."""
    ids = "\n".join(sorted(topology.ids(ElementKind.CELL)))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


class TwinCalibrator:
    """The tenant's current twin calibration and its refit policy."""

    def __init__(
        self,
        store: Store,
        topology: Topology,
        *,
        refit_every: timedelta = timedelta(days=1),
        window: timedelta = timedelta(days=14),
        drift: bool = True,
    ) -> None:
        self.store = store
        self.topology = topology
        self.refit_every = refit_every
        self.window = window
        self.fingerprint = cells_fingerprint(topology)
        self.version: int | None = None
        self.calibration: Calibration | None = None
        self.fitted_to: pd.Timestamp | None = None
        self._stored_fingerprint: str | None = None
        self._since: dict[str, str] = {}  # cell -> onset of a drift refit
        self.drift = DriftWatch(store) if drift else None
        self._load()

    def _load(self) -> None:
        doc = self.store.get_twin_calibration()
        if not doc:
            return
        try:
            self.calibration = Calibration.from_json(doc)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("stored twin calibration unreadable (%s): refitting", exc)
            return
        self.version = len(self.store.twin_calibration_history()) or None
        self.fitted_to = pd.Timestamp(doc["data_end"]) if doc.get("data_end") else None
        self._stored_fingerprint = doc.get("fingerprint")
        self._since = dict(doc.get("refitted_cells") or {})

    def params(self) -> CellParams | None:
        """Cell parameters of the current calibration in topology order (None: defaults)."""
        return None if self.calibration is None else self.calibration.params_for(self.topology)

    def due(self, now: pd.Timestamp) -> str | None:
        """Why a refit is due at data time ``now`` (None: not due)."""
        if self.calibration is None:
            return "first fit"
        if self._stored_fingerprint != self.fingerprint:
            return "topology changed"
        if self.fitted_to is None or now - self.fitted_to >= self.refit_every:
            return "schedule"
        return None

    def maybe_refit(self, now: pd.Timestamp | None) -> bool:
        """Refit when due and the store holds enough KPIs, then check drift (and refit the
        cells of lasting findings); True when a new version was stored. Too little data
        leaves the current parameters (and retries next time)."""
        if now is None:
            return False
        now = pd.Timestamp(now)
        why = self.due(now)
        refitted = why is not None and self._refit(now, why)
        return self._watch(now) or refitted

    def _read(self, start: pd.Timestamp, now: pd.Timestamp, cells: list[str]) -> pd.DataFrame:
        kpis = self.store.read_kpis(
            start,
            now + timedelta(seconds=1),
            managed_objects=cells,
            measurements=list(KPI_FIELDS.values()),
        )
        if kpis.empty or not self._since:
            return kpis
        # a cell refitted on drift: its data from before the change is another cell's
        since = kpis["managed_object"].map(self._since)
        t = pd.to_datetime(kpis["period_end"], utc=True)
        old = since.notna() & (t < pd.to_datetime(since, utc=True))
        return kpis[~old]

    def _refit(self, now: pd.Timestamp, why: str) -> bool:
        start = now - self.window
        self._since = {c: s for c, s in self._since.items() if pd.Timestamp(s) > start}
        kpis = self._read(start, now, self.topology.ids(ElementKind.CELL))
        if kpis.empty:
            return False
        try:
            cal = calibrate_kpis(kpis, self.topology)
        except TwinRCAError as exc:
            log.info("twin calibration not possible yet (%s): %s", why, exc)
            return False
        if self.calibration is not None:
            # a drifting cell keeps its parameters until its drift refit (its recent data
            # would widen its band and hide the change); a drift-refitted cell whose data
            # since the change are too few to fit keeps that refit
            unfit = {c for i, c in enumerate(cal.cells) if not cal.fit.fitted[i]}
            keep = (unfit & set(self._since)) | (self.drift.open_cells() if self.drift else set())
            if keep:
                cal = cal.merged(self.calibration, only=keep)
        self._store(cal, now, why)
        self.fitted_to = now
        log.info(
            "twin calibrated (%s): version %s, fit %s..%s, held-out MAPE thr %.1f %% "
            "(seasonal naive %.1f %%)",
            why,
            self.version,
            cal.fit_start,
            cal.fit_end,
            cal.heldout.get("mape_thr", float("nan")),
            cal.heldout.get("naive_mape_thr", float("nan")),
        )
        return True

    def _store(self, cal: Calibration, data_end: pd.Timestamp, why: str) -> None:
        doc = cal.to_json() | {
            "fingerprint": self.fingerprint,
            "data_end": data_end.isoformat(),
            "reason": why,
            "refitted_cells": self._since,
        }
        self.version = self.store.put_twin_calibration(doc)
        self.calibration = cal
        self._stored_fingerprint = self.fingerprint

    def _watch(self, now: pd.Timestamp) -> bool:
        """Advance the drift check; refit the cells of lasting findings (True: refitted)."""
        if self.drift is None or self.calibration is None:
            return False
        ran = self.drift.check(self.calibration, now, since=self.fitted_to, version=self.version)
        if ran is None:
            return False
        onsets: dict[str, str] = {}
        for doc in self.drift.lasting():
            cell = str(doc["element"])
            onsets[cell] = min(onsets.get(cell, doc["onset"]), doc["onset"])
        return bool(onsets) and self._refit_cells(self.calibration, self.drift, onsets, now)

    def _refit_cells(
        self, cal: Calibration, drift: DriftWatch, onsets: dict[str, str], now: pd.Timestamp
    ) -> bool:
        cells = sorted(c for c in onsets if c in set(cal.cells))
        if not cells:
            return False
        since = {**self._since, **{c: onsets[c] for c in cells}}
        previous, self._since = self._since, since
        kpis = self._read(min(pd.Timestamp(onsets[c]) for c in cells), now, cells)
        sub = Topology([self.topology.element(c) for c in cells], [])
        try:
            part = calibrate_kpis(kpis, sub)
        except TwinRCAError as exc:
            self._since = previous
            log.info("drift refit of %s not possible yet: %s", cells, exc)
            return False
        data_end = self.fitted_to if self.fitted_to is not None else now
        self._store(cal.merged(part), pd.Timestamp(data_end), "drift")
        drift.mark_refitted(cells)
        log.info("twin refitted on drift: %s (version %s)", ", ".join(cells), self.version)
        return True
