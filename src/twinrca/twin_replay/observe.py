"""What was observed in an incident window, in the store's column names.

:class:`Observation` holds two long frames:

* ``alarms``: ``managed_object, probable_cause, specific_problem, event_time, state``
  (one row per notification, ``state`` ``raised`` / ``changed`` / ``cleared``; as the
  store's ``alarm`` table and :class:`twinrca.core.records.Alarm`);
* ``kpis``: ``managed_object, measurement, period_end, value`` (as the store's ``kpi``
  table; ``period_end`` is the end of the measurement period).

The twin's own column names (``element_id``, ``time``) are accepted too.
:meth:`Observation.from_result` turns a twin run into the same frames (demos, tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.twin_replay.simulate import SimResult

__all__ = ["ALARM_COLUMNS", "KPI_COLUMNS", "Observation", "Window"]

ALARM_COLUMNS = ["managed_object", "probable_cause", "specific_problem", "event_time", "state"]
KPI_COLUMNS = ["managed_object", "measurement", "period_end", "value"]
_ALIASES = {"element_id": "managed_object", "time": "period_end"}


def _frame(frame: pd.DataFrame | None, columns: list[str], what: str) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = frame.rename(columns={k: v for k, v in _ALIASES.items() if k in frame.columns})
    if what == "alarms":
        frame = frame.copy()
        if "specific_problem" not in frame.columns:
            frame["specific_problem"] = ""
        if "state" not in frame.columns:
            frame["state"] = "raised"
        frame["specific_problem"] = frame["specific_problem"].fillna("").astype(str)
        frame["state"] = frame["state"].astype(str).str.lower()
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValidationError("bad_observation", f"{what} frame lacks columns {missing}")
    out = frame[columns].copy()
    tcol = "event_time" if what == "alarms" else "period_end"
    out[tcol] = pd.to_datetime(out[tcol], utc=True)
    return out.reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class Observation:
    """Alarms and KPIs of an incident window (see the module docstring)."""

    alarms: pd.DataFrame
    kpis: pd.DataFrame

    @classmethod
    def from_frames(
        cls, alarms: pd.DataFrame | None = None, kpis: pd.DataFrame | None = None
    ) -> Observation:
        return cls(_frame(alarms, ALARM_COLUMNS, "alarms"), _frame(kpis, KPI_COLUMNS, "kpis"))

    @classmethod
    def from_result(
        cls, result: SimResult, scenario: int = 0, *, elements: Iterable[str] | None = None
    ) -> Observation:
        """The alarms and KPIs of one scenario of a twin run (``elements``: KPIs of these only)."""
        rows = [
            (a.managed_object, a.probable_cause, a.specific_problem, a.event_time, str(a.state))
            for a in result.alarm_records(scenario)
        ]
        alarms = pd.DataFrame(rows, columns=ALARM_COLUMNS)
        if result.kpis is None:
            return cls.from_frames(alarms, None)
        ids = list(result.element_ids if elements is None else elements)
        idx = [result.element_ids.index(e) for e in ids]
        cube = result.kpis[scenario][idx]  # [E, T, K]
        e, t, k = np.nonzero(np.isfinite(cube))
        ends = pd.DatetimeIndex([result.time(s) for s in range(result.steps)])
        kpis = pd.DataFrame(
            {
                "managed_object": np.asarray(ids, dtype=object)[e],
                "measurement": np.asarray(result.kpi_names, dtype=object)[k],
                "period_end": ends[t],
                "value": cube[e, t, k].astype(np.float64),
            }
        )
        return cls.from_frames(alarms, kpis)


@dataclass(frozen=True, slots=True)
class Window:
    """The step grid of a replay: ``steps`` periods of ``step_minutes`` from ``start``."""

    start: datetime
    step_minutes: int
    steps: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.step_minutes * self.steps)

    def step_of(self, times: pd.Series) -> np.ndarray:
        """The step whose period contains each time (may lie outside ``0..steps-1``)."""
        sec = (pd.to_datetime(times, utc=True) - pd.Timestamp(self.start)).dt.total_seconds()
        return np.floor(sec.to_numpy(dtype=np.float64) / (60 * self.step_minutes)).astype(int)

    def period_index(self, period_end: pd.Series) -> np.ndarray:
        """The step of each period end (``period_end = start + (step + 1) * step``)."""
        sec = (pd.to_datetime(period_end, utc=True) - pd.Timestamp(self.start)).dt.total_seconds()
        return np.rint(sec.to_numpy(dtype=np.float64) / (60 * self.step_minutes)).astype(int) - 1

    def period_ends(self) -> list[str]:
        dt = timedelta(minutes=self.step_minutes)
        return [(self.start + dt * (t + 1)).isoformat() for t in range(self.steps)]
