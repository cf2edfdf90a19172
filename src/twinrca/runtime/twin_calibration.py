"""The tenant's calibrated twin in the service: refitted on a schedule and on topology change.

:class:`TwinCalibrator` keeps the tenant's current :class:`Calibration` (loaded from the
store at start), and :meth:`TwinCalibrator.maybe_refit` fits a new one from the store's
KPIs of the last ``window`` of data time when none exists, when the last one is
``refit_every`` old (data time, default a day) or when the topology's cells changed
(the calibration's cell set differs). Every fit is a new version in the store, with its
fit window and held-out error; :meth:`TwinCalibrator.params` gives the cell parameters
in the topology's cell order (cells the calibration does not know keep the defaults).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pandas as pd

from twinrca.core.errors import TwinRCAError
from twinrca.core.topology import ElementKind, Topology
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
        """Refit when due and the store holds enough KPIs; True when a new version was
        stored. Too little data leaves the current parameters (and retries next time)."""
        if now is None:
            return False
        now = pd.Timestamp(now)
        why = self.due(now)
        if why is None:
            return False
        kpis = self.store.read_kpis(
            now - self.window,
            now + timedelta(seconds=1),
            managed_objects=self.topology.ids(ElementKind.CELL),
            measurements=list(KPI_FIELDS.values()),
        )
        if kpis.empty:
            return False
        try:
            cal = calibrate_kpis(kpis, self.topology)
        except TwinRCAError as exc:
            log.info("twin calibration not possible yet (%s): %s", why, exc)
            return False
        doc = cal.to_json() | {
            "fingerprint": self.fingerprint,
            "data_end": now.isoformat(),
            "reason": why,
        }
        version = self.store.put_twin_calibration(doc)
        self.calibration, self.version, self.fitted_to = cal, version, now
        self._stored_fingerprint = self.fingerprint
        log.info(
            "twin calibrated (%s): version %s, fit %s..%s, held-out MAPE thr %.1f %% "
            "(seasonal naive %.1f %%)",
            why,
            version,
            cal.fit_start,
            cal.fit_end,
            cal.heldout.get("mape_thr", float("nan")),
            cal.heldout.get("naive_mape_thr", float("nan")),
        )
        return True
