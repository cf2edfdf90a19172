"""Twin runs as the service sees data: store-shaped alarm frames (with the EMS's
imperfections: lost alarms, unrelated background alarms), KPI anomalies, and the
matching of detected incidents to the planted faults (for training and scoring)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from twinrca.core.columns import ALARM_COLUMNS
from twinrca.core.topology import Topology
from twinrca.detect.detector import DetectedIncident
from twinrca.fmea.catalogue import Catalogue
from twinrca.twin_replay.simulate import SimResult

__all__ = ["AlarmNoise", "alarm_frame", "kpi_anomalies", "match_faults"]


@dataclass(frozen=True, slots=True)
class AlarmNoise:
    """EMS imperfections: each alarm lost with ``loss``; ``background_per_element_day``
    unrelated short alarms (signatures drawn from the catalogue) per element and day."""

    loss: float = 0.05
    background_per_element_day: float = 0.02
    background_minutes: tuple[float, float] = (5.0, 60.0)


def alarm_frame(
    result: SimResult,
    topology: Topology,
    catalogue: Catalogue,
    *,
    scenario: int = 0,
    noise: AlarmNoise | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Raise and clear rows in the store's alarm columns, time-ordered."""
    rng = np.random.default_rng([seed, scenario, 17])
    t = result.alarms[result.alarms["scenario"] == scenario]
    raised = pd.DataFrame(
        {
            "managed_object": t["element_id"].to_numpy(),
            "alarm_type": t["alarm_type"].to_numpy(),
            "probable_cause": t["probable_cause"].to_numpy(),
            "specific_problem": t["specific_problem"].to_numpy(),
            "perceived_severity": t["severity"].to_numpy(),
            "raise_min": t["raise_min"].to_numpy(),
            "clear_min": t["clear_min"].to_numpy(),
        }
    )
    if noise is not None:
        raised = raised[rng.random(len(raised)) >= noise.loss]
        raised = pd.concat(
            [raised, _background(result, topology, catalogue, noise, rng)], ignore_index=True
        )
    raised = raised.sort_values("raise_min", kind="stable").reset_index(drop=True)
    ids = [f"tw{seed}-{scenario}-{i}" for i in range(len(raised))]
    start = pd.Timestamp(result.start)
    up = raised.assign(
        alarm_id=ids,
        notification_id=np.arange(len(raised)) * 2,
        state="raised",
        event_time=start + pd.to_timedelta(raised["raise_min"], unit="m"),
    )
    cl = raised[raised["clear_min"].notna()]
    down = cl.assign(
        alarm_id=[ids[i] for i in cl.index],
        notification_id=cl.index.to_numpy() * 2 + 1,
        state="cleared",
        perceived_severity="CLEARED",
        event_time=start + pd.to_timedelta(cl["clear_min"], unit="m"),
    )
    frame = pd.concat([up, down], ignore_index=True).sort_values(["event_time", "notification_id"])
    frame["additional_text"] = ""
    return frame[list(ALARM_COLUMNS)].reset_index(drop=True)


def _background(
    result: SimResult,
    topology: Topology,
    catalogue: Catalogue,
    noise: AlarmNoise,
    rng: np.random.Generator,
) -> pd.DataFrame:
    horizon = result.steps * result.step_minutes
    days = horizon / 1440.0
    elements = topology.ids()
    n = rng.poisson(noise.background_per_element_day * len(elements) * days)
    rows = []
    for _ in range(int(n)):
        el = elements[int(rng.integers(len(elements)))]
        kind = topology.element(el).kind
        modes = [m for m in catalogue if m.element_kind == kind and m.alarms]
        if not modes:
            continue
        rule = modes[int(rng.integers(len(modes)))].alarms[0]
        t0 = float(rng.uniform(0, horizon))
        dur = float(rng.uniform(*noise.background_minutes))
        rows.append(
            {
                "managed_object": el,
                "alarm_type": str(rule.alarm_type),
                "probable_cause": rule.probable_cause,
                "specific_problem": rule.specific_problem,
                "perceived_severity": "MINOR",
                "raise_min": t0,
                "clear_min": t0 + dur if t0 + dur < horizon else np.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "managed_object",
            "alarm_type",
            "probable_cause",
            "specific_problem",
            "perceived_severity",
            "raise_min",
            "clear_min",
        ],
    )


def kpi_anomalies(
    result: SimResult, *, scenario: int = 0, z_threshold: float = 5.0, rel_floor: float = 0.02
) -> pd.DataFrame:
    """Anomalous (element, KPI, step) samples against each element's seasonal profile
    (median over days of the same time-of-day step, robust spread), from the KPI array."""
    if result.kpis is None:
        return pd.DataFrame(
            columns=[
                "managed_object",
                "measurement",
                "period_end",
                "value",
                "expected",
                "z",
                "direction",
            ]
        )
    x = result.kpis[scenario]  # [E, T, K]
    per_day = 1440 // result.step_minutes
    days = x.shape[1] // per_day
    if days < 2:
        raise ValueError("KPI anomalies need at least two days of twin run for a seasonal baseline")
    cube = x[:, : days * per_day].reshape(x.shape[0], days, per_day, x.shape[2])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: KPIs that do not apply
        med = np.nanmedian(cube, axis=1)  # [E, per_day, K]
        mad = np.nanmedian(np.abs(cube - med[:, None]), axis=1)
        level = np.nanmedian(np.abs(med), axis=1, keepdims=True)
        scale = np.maximum(1.4826 * np.nanmedian(mad, axis=1, keepdims=True), rel_floor * level)
        scale = np.maximum(scale, 1e-6)
        slot = np.arange(x.shape[1]) % per_day
        expected = med[:, slot]  # [E, T, K]
        z = (x - expected) / scale
    e_idx, t_idx, k_idx = np.nonzero(np.abs(np.nan_to_num(z)) >= z_threshold)
    times = pd.Timestamp(result.start) + pd.to_timedelta(
        (t_idx + 1) * result.step_minutes, unit="m"
    )
    zz = z[e_idx, t_idx, k_idx]
    return pd.DataFrame(
        {
            "managed_object": np.asarray(result.element_ids)[e_idx],
            "measurement": np.asarray(result.kpi_names)[k_idx],
            "period_end": times,
            "value": x[e_idx, t_idx, k_idx],
            "expected": expected[e_idx, t_idx, k_idx],
            "z": zz,
            "direction": np.sign(zz).astype(int),
        }
    )


def match_faults(
    incidents: list[DetectedIncident],
    labels: pd.DataFrame,
    *,
    slack: timedelta = timedelta(minutes=30),
) -> dict[int, int]:
    """label row -> incident index: within the fault window, the incident holding most
    alarms on the fault's root element, then most on its affected elements; failing
    any alarm (every alarm of the fault lost), the KPI-triggered incident opened within the fault
    window whose anomalous elements hold its root element, then most of
    its affected elements."""
    prepared = [_Prepared.of(inc) for inc in incidents]
    out: dict[int, int] = {}
    for li, lab in enumerate(labels.itertuples(index=False)):
        affected = set(_as_list(lab.affected_elements)) | {lab.root_element}
        lo, hi = pd.Timestamp(lab.start) - slack, pd.Timestamp(lab.end) + slack
        best, best_n = -1, (0, 0, 0, 0)
        for ii, inc in enumerate(prepared):
            n = inc.count(lab.root_element, affected, lo, hi)
            if n > best_n:
                best, best_n = ii, n
        if best >= 0:
            out[li] = best
    return out


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An incident as matching reads it: its alarms' times (ns) and elements, or, for a
    KPI-triggered one, its span and anomalous elements."""

    kpi: bool
    start: pd.Timestamp
    end: pd.Timestamp
    elements: frozenset[str]
    t: np.ndarray
    mo: np.ndarray

    @classmethod
    def of(cls, inc: DetectedIncident) -> _Prepared:
        start, end = pd.Timestamp(inc.group.start), pd.Timestamp(inc.group.end)
        if inc.trigger == "kpi":
            empty = np.zeros(0, dtype=np.int64)
            return cls(True, start, end, frozenset(inc.group.elements), empty, empty)
        a = inc.alarms
        t = pd.to_datetime(a["event_time"], utc=True)
        ns = t.to_numpy(dtype="datetime64[ns]").view(np.int64)
        return cls(False, start, end, frozenset(), ns, a["managed_object"].to_numpy())

    def count(
        self, root: str, affected: set[str], lo: pd.Timestamp, hi: pd.Timestamp
    ) -> tuple[int, int, int, int]:
        """(alarms on the root, alarms on affected elements, KPI incident on the root,
        its anomalous elements among the affected) within ``lo``..``hi``."""
        if self.kpi:
            if not lo <= self.start <= hi or self.end < lo:
                return (0, 0, 0, 0)
            return (0, 0, int(root in self.elements), len(self.elements & affected))
        inside = (self.t >= lo.value) & (self.t <= hi.value)
        if not inside.any():
            return (0, 0, 0, 0)
        mo = self.mo[inside]
        return (int((mo == root).sum()), sum(1 for m in mo if m in affected), 0, 0)


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        import json

        return list(json.loads(value))
    return list(value)  # type: ignore[call-overload]
