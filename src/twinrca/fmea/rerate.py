"""Re-rate occurrence and detection from what the network actually does.

- Occurrence from observed incidents: ``count / element-years`` through
  :class:`~twinrca.fmea.ratings.OccurrenceBands`; or from predicted per-element
  probabilities over a horizon (their mean, as a Poisson rate).
- Detection from monitoring coverage (the share of a mode's incidents that raised an
  alarm or KPI anomaly) and the median prediction lead time (unpredicted incidents
  count as zero lead), through :class:`~twinrca.fmea.ratings.DetectionBands`.

Every change is recorded in a :class:`~twinrca.fmea.history.RatingHistory` with the
numbers that justify it. Modes with too little data keep their rating.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.fmea.history import RatingHistory
from twinrca.fmea.ratings import DetectionBands, OccurrenceBands
from twinrca.fmea.table import FmeaRow

__all__ = ["ModeStats", "incident_stats", "rerate_from_incidents", "rerate_from_predictions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModeStats:
    """What the incidents of one failure mode say."""

    mode_id: str
    incidents: int
    element_years: float
    detected: int
    median_lead_min: float | None

    @property
    def rate(self) -> float:
        """Incidents per element-year."""
        return self.incidents / self.element_years

    @property
    def coverage(self) -> float:
        return self.detected / self.incidents if self.incidents else math.nan


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValidationError("missing_columns", f"{what} lacks columns {sorted(missing)}")


def _exposure(row: FmeaRow, exposure: Mapping[str, float]) -> float | None:
    """Element-years for a mode: keyed by mode id, else by element kind."""
    value = exposure.get(row.mode_id, exposure.get(row.element_kind))
    return None if value is None else float(value)


def incident_stats(
    rows: Iterable[FmeaRow], incidents: pd.DataFrame, exposure: Mapping[str, float]
) -> dict[str, ModeStats]:
    """Per-mode counts. ``incidents``: columns ``failure_mode``, ``detected`` (bool) and
    optionally ``lead_time_min`` (prediction lead; NaN when not predicted).
    ``exposure``: element-years observed, by mode id or by element kind."""
    _require(incidents, ("failure_mode", "detected"), "incidents")
    has_lead = "lead_time_min" in incidents.columns
    groups = dict(tuple(incidents.groupby("failure_mode", sort=False)))
    out = {}
    for row in rows:
        years = _exposure(row, exposure)
        if years is None or years <= 0:
            continue
        group = groups.get(row.mode_id, incidents.iloc[0:0])
        lead = None
        if has_lead and len(group):
            lead = float(
                pd.to_numeric(group["lead_time_min"], errors="coerce").fillna(0.0).median()
            )
        out[row.mode_id] = ModeStats(
            row.mode_id, len(group), years, int(group["detected"].astype(bool).sum()), lead
        )
    return out


def _occurrence_reason(s: ModeStats, bands: OccurrenceBands, rating: int) -> str:
    return (
        f"{s.incidents} incidents over {s.element_years:g} element-years = "
        f"{s.rate:.4g}/element-year ({bands.meaning(rating)})"
    )


def _detection_reason(s: ModeStats, bands: DetectionBands) -> str:
    text = f"monitoring caught {s.detected}/{s.incidents} incidents ({s.coverage:.0%})"
    if s.median_lead_min is not None:
        credit = bands.lead_credit(s.median_lead_min)
        text += f", median prediction lead {s.median_lead_min:.0f} min (credit {credit})"
    return text


def rerate_from_incidents(
    rows: Iterable[FmeaRow],
    incidents: pd.DataFrame,
    exposure: Mapping[str, float],
    history: RatingHistory,
    *,
    who: str,
    source: str = "incidents",
    occurrence_bands: OccurrenceBands | None = None,
    detection_bands: DetectionBands | None = None,
    min_element_years: float = 1.0,
    min_incidents_for_detection: int = 3,
) -> list[FmeaRow]:
    """Rows with occurrence and detection re-rated from incident statistics.

    Occurrence needs ``min_element_years`` of exposure (zero incidents then count);
    detection needs ``min_incidents_for_detection`` incidents of the mode.
    """
    o_bands = occurrence_bands or OccurrenceBands.default()
    d_bands = detection_bands or DetectionBands.default()
    rows = list(rows)
    stats = incident_stats(rows, incidents, exposure)
    out = []
    for row in rows:
        s = stats.get(row.mode_id)
        new = row
        if s is not None and s.element_years >= min_element_years:
            o = o_bands.rating_for_rate(s.rate)
            history.record(
                row.mode_id,
                "occurrence",
                row.occurrence,
                o,
                source=source,
                who=who,
                reason=_occurrence_reason(s, o_bands, o),
            )
            new = new.with_ratings(occurrence=o)
        if s is not None and s.incidents >= min_incidents_for_detection:
            d = d_bands.rating_for(s.coverage, s.median_lead_min)
            history.record(
                row.mode_id,
                "detection",
                row.detection,
                d,
                source=source,
                who=who,
                reason=_detection_reason(s, d_bands),
            )
            new = new.with_ratings(detection=d)
        out.append(new)
    log.info("re-rated %d modes from %d incidents", len(stats), len(incidents))
    return out


def rerate_from_predictions(
    rows: Iterable[FmeaRow],
    predictions: pd.DataFrame,
    history: RatingHistory,
    *,
    horizon_days: float,
    who: str,
    source: str = "prediction",
    occurrence_bands: OccurrenceBands | None = None,
) -> list[FmeaRow]:
    """Rows with occurrence re-rated from predicted probabilities.

    ``predictions``: columns ``failure_mode`` and ``probability`` (one row per element:
    the probability that the mode hits it within ``horizon_days``).
    """
    _require(predictions, ("failure_mode", "probability"), "predictions")
    bands = occurrence_bands or OccurrenceBands.default()
    means = predictions.groupby("failure_mode")["probability"].agg(["mean", "size"])
    out = []
    for row in rows:
        if row.mode_id not in means.index:
            out.append(row)
            continue
        p, n = float(means.at[row.mode_id, "mean"]), int(means.at[row.mode_id, "size"])
        o = bands.rating_for_probability(p, horizon_days)
        reason = (
            f"mean predicted probability {p:.4g} over {horizon_days:g} days on {n} "
            f"elements ({bands.meaning(o)})"
        )
        history.record(
            row.mode_id, "occurrence", row.occurrence, o, source=source, who=who, reason=reason
        )
        out.append(row.with_ratings(occurrence=o))
    return out
