"""The KPI baseline of a running service: refitted on the KPI history in a background
thread every ``refit_every`` of data time (the first fit is waited for)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pandas as pd

from twinrca.detect.baseline import SeasonalBaseline

__all__ = ["BaselineRefitter"]

log = logging.getLogger(__name__)


class BaselineRefitter:
    """Holds the newest :class:`SeasonalBaseline` fitted on the history."""

    def __init__(self, *, refit_every: timedelta, min_span: timedelta) -> None:
        self.refit_every = refit_every
        self.min_span = min_span
        self._baseline: SeasonalBaseline | None = None
        self._baseline_at: pd.Timestamp | None = None
        self._fitting: threading.Thread | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the baseline (the scope of the history changed)."""
        self._baseline = None
        self._baseline_at = None

    def current(self, history: pd.DataFrame, at: pd.Timestamp | None) -> SeasonalBaseline | None:
        """The background-fitted baseline of ``history`` (its data reaching ``at``); None
        (fit on the window) until the history spans ``min_span``."""
        if history.empty:
            return None
        span = history["period_end"].max() - history["period_end"].min()
        if span < self.min_span:
            return None
        due = self._baseline_at is None or at - self._baseline_at >= self.refit_every
        if due and (self._fitting is None or not self._fitting.is_alive()):
            self._fitting = threading.Thread(
                target=self._fit, args=(history, at), name="twinrca-baseline", daemon=True
            )
            self._fitting.start()
            if self._baseline is None:
                self._fitting.join()  # the first one is needed now
        with self._lock:
            return self._baseline

    def close(self) -> None:
        if self._fitting is not None:
            self._fitting.join(timeout=30)

    def _fit(self, history: pd.DataFrame, at: pd.Timestamp) -> None:
        t0 = time.perf_counter()
        baseline = SeasonalBaseline.fit(history)
        with self._lock:
            self._baseline, self._baseline_at = baseline, at
        log.info(
            "baseline refitted on %d KPI rows in %.1f s", len(history), time.perf_counter() - t0
        )
