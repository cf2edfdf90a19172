"""Scoring each reporting period: warnings shaped as 3GPP TS 28.104 MDA reports.

:func:`score_frame` scores a batch of feature rows; :class:`StreamScorer` takes the KPI
rows (and alarms) of each new period, keeps the history the features need, and returns
the warnings of that period.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.topology import ElementKind, Topology
from twinrca.predict.features import FeatureSpec, build_features, to_grid
from twinrca.predict.risk import Contribution, RiskModel

__all__ = [
    "MDA_TYPE",
    "FaultWarning",
    "StreamScorer",
    "fmea_predictions",
    "json_number",
    "on_faulty_element",
    "score_frame",
    "sudden_modes",
]

log = logging.getLogger(__name__)

MDA_TYPE = "FaultPrediction"


def json_number(x: float) -> float | None:
    """Rounded for a report; None where a feature has no value (NaN is not JSON)."""
    return round(float(x), 4) if np.isfinite(x) else None


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class FaultWarning:
    """A predicted fault: element, failure mode, window, calibrated confidence, reasons."""

    element: str
    failure_mode: str
    start: datetime
    end: datetime
    confidence: float
    horizon_min: float
    reasons: tuple[Contribution, ...] = ()
    #: the elements the model raised it on, when it moved to the element at fault
    #: (:func:`on_faulty_element`): a site's cells warned of the site's memory leak
    raised_on: tuple[str, ...] = ()

    def to_mda(self) -> dict[str, Any]:
        """The TS 28.104 MDA report of this warning."""
        outputs: list[dict[str, Any]] = [
            {"mDAOutputIEName": "predictedFaultObject", "mDAOutputIEValue": self.element},
            {"mDAOutputIEName": "predictedFailureMode", "mDAOutputIEValue": self.failure_mode},
            {"mDAOutputIEName": "predictionHorizonMinutes", "mDAOutputIEValue": self.horizon_min},
        ]
        if self.reasons:
            outputs.append(
                {
                    "mDAOutputIEName": "explanation",
                    "mDAOutputIEValue": [
                        {
                            "feature": r.feature,
                            "text": r.text,
                            "value": json_number(r.value),
                            "contribution": json_number(r.contribution),
                        }
                        for r in self.reasons
                    ],
                }
            )
        return {
            "mDAType": MDA_TYPE,
            "mDAOutputList": outputs,
            "analyticsWindow": {
                "mDAOutputStartTime": _iso(self.start),
                "mDAOutputEndTime": _iso(self.end),
            },
            "confidenceDegree": round(float(self.confidence), 4),
        }


def sudden_modes() -> frozenset[str]:
    """Catalogue modes no precursor announces (board failure, process crash, ...): their
    risk may raise FMEA occurrence but they get no warnings."""
    from twinrca.fmea.catalogue import load_catalogue

    return frozenset(m.id for m in load_catalogue() if not m.announceable)


def score_frame(
    model: RiskModel,
    features: pd.DataFrame,
    *,
    threshold: float | None = None,
    explain: int = 3,
    silent_modes: Collection[str] | None = None,
) -> list[FaultWarning]:
    """Warnings for the rows of ``features`` (``time``, ``element`` + model columns)
    whose calibrated risk reaches the model's threshold. A row whose most likely mode is
    in ``silent_modes`` (default: the catalogue's modes not flagged announceable) warns of
    nothing; modes outside the catalogue warn."""
    if features.empty:
        return []
    x = model.matrix(features)
    p = model.predict(x)
    cut = model.threshold if threshold is None else threshold
    hit = np.flatnonzero(p >= cut)
    if not len(hit):
        return []
    modes = model.predict_mode(x[hit])
    silent = sudden_modes() if silent_modes is None else frozenset(silent_modes)
    keep = [k for k, m in enumerate(modes) if m not in silent]
    hit, modes = hit[keep], [modes[k] for k in keep]
    if not len(hit):
        return []
    reasons = model.explain(x[hit], top=explain) if explain else [[] for _ in hit]
    gap, hor = timedelta(minutes=model.gap_min), timedelta(minutes=model.horizon_min)
    out = []
    for k, i in enumerate(hit):
        t = pd.Timestamp(features["time"].iloc[i]).to_pydatetime()
        out.append(
            FaultWarning(
                element=str(features["element"].iloc[i]),
                failure_mode=modes[k],
                start=t + gap,
                end=t + gap + hor,
                confidence=float(p[i]),
                horizon_min=model.horizon_min,
                reasons=tuple(reasons[k]),
            )
        )
    return out


def fmea_predictions(model: RiskModel, features: pd.DataFrame) -> pd.DataFrame:
    """Per element (latest row of each): ``element``, ``failure_mode`` and the calibrated
    ``probability`` of a fault within the model's horizon: the input of
    :func:`twinrca.fmea.rerate_from_predictions` (horizon_days = horizon_min / 1440)."""
    latest = features.sort_values("time").groupby("element", sort=True).tail(1)
    x = model.matrix(latest)
    return pd.DataFrame(
        {
            "element": latest["element"].astype(str).to_numpy(),
            "failure_mode": model.predict_mode(x),
            "probability": model.predict(x),
        }
    )


class StreamScorer:
    """Feed the KPI rows (and alarms) of each period; get that period's warnings.

    ``elements`` restricts scoring (e.g. to cells) while every element's data still feeds
    the topology features; ``threshold`` overrides the model's warning threshold;
    ``silent_modes`` as in :func:`score_frame`."""

    def __init__(
        self,
        model: RiskModel,
        *,
        spec: FeatureSpec,
        topology: Topology | None = None,
        history_days: float | None = None,
        threshold: float | None = None,
        explain: int = 3,
        elements: Collection[str] | None = None,
        silent_modes: Collection[str] | None = None,
    ) -> None:
        self.model = model
        self.silent_modes = silent_modes  # None: the catalogue's unannounceable modes
        self.elements = None if elements is None else set(elements)
        self.threshold = threshold
        self.explain = explain
        self.spec = spec
        self.topology = topology
        days = spec.seasonal_days + 1 if history_days is None else history_days
        self.history = pd.Timedelta(days=days)
        self._kpis: pd.DataFrame | None = None
        self._alarms: pd.DataFrame | None = None

    def feed(self, kpis: pd.DataFrame, alarms: pd.DataFrame | None = None) -> list[FaultWarning]:
        """Add one period's rows; score the latest time of every element."""
        self._kpis = _append(self._kpis, kpis, self.history)
        if alarms is not None and len(alarms):
            self._alarms = _append(self._alarms, alarms, self.history)
        now = pd.to_datetime(self._kpis["time"], utc=True).max()
        grid = to_grid(self._kpis, self.spec.period_min)
        feats = build_features(
            self._kpis, spec=self.spec, alarms=self._alarms, topology=self.topology, grid=grid
        )
        latest = feats[pd.to_datetime(feats["time"], utc=True) == now]
        if self.elements is not None:  # e.g. cells only; the others were context
            latest = latest[latest["element"].isin(self.elements)]
        latest = latest.reset_index(drop=True)
        return score_frame(
            self.model,
            latest,
            threshold=self.threshold,
            explain=self.explain,
            silent_modes=self.silent_modes,
        )


def _append(old: pd.DataFrame | None, new: pd.DataFrame, keep: pd.Timedelta) -> pd.DataFrame:
    frame = new if old is None else pd.concat([old, new], ignore_index=True)
    t = pd.to_datetime(frame["time"], utc=True)
    return frame[t > t.max() - keep].reset_index(drop=True)


def _nearest_of_kind(topology: Topology, element: str, kind: ElementKind) -> str | None:
    """``element`` itself or its nearest ancestor of ``kind`` (breadth first, by id)."""
    level = [element]
    seen: set[str] = set()
    while level:
        hits = sorted(e for e in level if topology.element(e).kind == kind)
        if hits:
            return hits[0]
        seen.update(level)
        level = sorted({p for e in level for p in topology.parents(e)} - seen)
    return None


def on_faulty_element(
    warnings: Sequence[FaultWarning], topology: Topology, kinds: Mapping[str, ElementKind]
) -> list[FaultWarning]:
    """Each warning on the element its failure mode is a fault of (``kinds``: mode ->
    element kind, the FMEA catalogue's): the model scores every cell, site and hop, and a
    site's memory leak or battery shows on its cells too (their rows carry the site's
    precursors); the NOC gets one warning for the site, not one per cell. A warning
    whose element has no ancestor of the mode's kind stays where it is. Warnings that
    land on one element, mode and window become one: the most confident, with its
    reasons and the elements they were raised on (``raised_on``)."""
    out: dict[tuple[str, str, datetime, datetime], FaultWarning] = {}
    sources: dict[tuple[str, str, datetime, datetime], set[str]] = {}
    for w in warnings:
        kind = kinds.get(w.failure_mode)
        target = w.element
        if kind is not None and w.element in topology:
            target = _nearest_of_kind(topology, w.element, kind) or w.element
        key = (target, w.failure_mode, w.start, w.end)
        sources.setdefault(key, set()).add(w.element)
        prev = out.get(key)
        if prev is None or w.confidence > prev.confidence:
            out[key] = w
    return [
        replace(
            w,
            element=key[0],
            raised_on=tuple(sorted(sources[key])) if sources[key] != {key[0]} else (),
        )
        for key, w in out.items()
    ]
