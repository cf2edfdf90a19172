"""The "no fault / condition" outcome of an incident: nothing broke, the network is
busy, faded within margin, being maintained, or carrying a neighbour's load.

A logistic model over incident-level features (which alarm signatures at which severity,
how many alarms and elements, which KPI anomalies, what opened it, and how well the
best fault hypothesis of the diagnoser explains it, and whether the alarmed elements'
own KPIs corroborate the alarms) fitted on twin incidents labelled by the twin:
incidents holding a planted fault are faults, the others conditions. Its decision
threshold is derived from the training incidents' out-of-fold probabilities (each fold's
model never saw the incident, as the service's model never saw the incidents it
judges): the larger of 0.5 and the condition probability that keeps
:data:`FAULT_MISS_BUDGET` of the training faults or fewer on the condition side, so a
real fault is rarely kept from the NOC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twinrca.core.errors import ModelError
from twinrca.detect.detector import IncidentEvidence
from twinrca.detect.episodes import degradations

__all__ = ["FAULT_MISS_BUDGET", "ConditionModel", "ConditionVerdict", "incident_features"]

log = logging.getLogger(__name__)
#: share of the training faults the threshold may put on the condition side: the
#: product's target misses at most 5 % of faults (issue 17: fault_recall >= .95), of
#: which detection (faults no incident holds) and ranking (wrong top element) already
#: lose about 3 % on twin runs; this is the rest
FAULT_MISS_BUDGET = 0.02
#: folds of the out-of-fold probabilities the threshold is chosen on
THRESHOLD_FOLDS = 5

Scorer = Callable[[IncidentEvidence], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class ConditionVerdict:
    """``probability`` that the incident is a condition (no fault), ``condition``
    whether it is kept as one (at or above the model's threshold), and the features
    that weighed most towards it."""

    probability: float
    condition: bool
    threshold: float
    evidence: tuple[dict[str, object], ...] = ()


def _bin(n: int, edges: Sequence[int]) -> str:
    for e in edges:
        if n <= e:
            return f"<={e}"
    return f">{edges[-1]}"


def incident_features(ev: IncidentEvidence, best: tuple[float, float]) -> dict[str, float]:
    """Incident-level features; ``best``: (score, posterior) of the diagnoser's top
    hypothesis. While the incident's KPIs have not arrived (:attr:`IncidentEvidence.
    kpis_pending`: a live incident judged on its first alarms, or a service still warming
    up, whose KPIs have no baseline yet) the KPI features are left
    out rather than read as "no KPI degraded": a crash whose cells' counters are a
    reporting period away is no busy-hour alarm."""
    a, k = ev.alarms, ev.anomalies
    pending = ev.kpis_pending
    out: dict[str, float] = {}
    out["trigger=kpi" if a.empty else "trigger=alarms"] = 1.0
    out[f"alarms{_bin(len(a), (1, 3, 9))}"] = 1.0
    if len(a):
        els = set(a["managed_object"].astype(str))
        out[f"elements{_bin(len(els), (1, 3, 9))}"] = 1.0
        sev = a["perceived_severity"].astype(str).str.upper().to_numpy()
        sp = a["specific_problem"].astype(str).to_numpy()
        for s, v in zip(sp, sev, strict=True):
            out[f"alarm={s}"] = 1.0
            out[f"alarm={s}|{v}"] = 1.0
        order = ("WARNING", "MINOR", "MAJOR", "CRITICAL")
        top = max((order.index(v) for v in sev if v in order), default=0)
        out[f"max_severity={order[top]}"] = 1.0
        qos = a["probable_cause"].astype(str).eq("thresholdCrossed").mean()
        out["threshold_alarm_share"] = float(qos)
        if not pending:
            out[f"own_degraded{_bin(_corroborating(a, k), (0, 1, 3))}"] = 1.0
    if not pending:
        out[f"anomalies{_bin(len(k), (0, 3, 12))}"] = 1.0
    if len(k) and not pending:
        d = np.where(k["direction"].to_numpy() > 0, "up", "down")
        for name in set(k["measurement"].astype(str).to_numpy() + ":" + d):
            out[f"kpi={name}"] = 1.0
    score, post = best
    out["best_score"] = float(np.clip(score, -20.0, 40.0)) / 10.0
    out["best_posterior"] = float(post)
    return out


def _corroborating(alarms: pd.DataFrame, anomalies: pd.DataFrame) -> int:
    """How many (element, KPI) degradations of the alarmed elements themselves were
    seen from 15 minutes (a fixed lead, not yet the data's reporting period) before the
    first alarm on: a fault's alarm comes with its element's KPIs going bad, a
    transient or spurious alarm without."""
    if anomalies.empty:
        return 0
    bad = degradations(anomalies)
    if bad.empty:
        return 0
    first = pd.to_datetime(alarms["event_time"], utc=True).min() - _CORROBORATION_LEAD
    own = bad["managed_object"].astype(str).isin(set(alarms["managed_object"].astype(str)))
    late = pd.to_datetime(bad["period_end"], utc=True) >= first
    hit = bad[(own & late).to_numpy()]
    pairs = hit["managed_object"].astype(str) + "|" + hit["measurement"].astype(str)
    return int(pairs.nunique())


_CORROBORATION_LEAD = pd.Timedelta(minutes=15)


@dataclass
class ConditionModel:
    """Fault vs condition per incident; ``fit`` on (evidence, is_condition) pairs."""

    scorer: Scorer
    c: float = 1.0
    miss_budget: float = FAULT_MISS_BUDGET
    vectorizer_: object | None = field(default=None, init=False, repr=False)
    model_: object | None = field(default=None, init=False, repr=False)
    threshold_: float = field(default=0.5, init=False)

    def _features(self, ev: IncidentEvidence) -> dict[str, float]:
        return incident_features(ev, self.scorer(ev))

    def fit(self, incidents: Iterable[tuple[IncidentEvidence, bool]]) -> ConditionModel:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        rows, y = [], []
        for ev, is_condition in incidents:
            rows.append(self._features(ev))
            y.append(int(is_condition))
        if len(set(y)) < 2:
            raise ModelError("the condition model needs fault and condition incidents")
        vec = DictVectorizer(sparse=False)
        x = vec.fit_transform(rows)
        model = LogisticRegression(C=self.c, max_iter=2000).fit(x, y)
        self.vectorizer_, self.model_ = vec, model
        p = self._out_of_fold(x, np.asarray(y), model)
        faults = np.sort(p[np.asarray(y) == 0])
        # the fault probability below which all but the budget of training faults lie
        allowed = int(np.floor(self.miss_budget * len(faults)))
        above = faults[len(faults) - allowed - 1] if allowed < len(faults) else 0.0
        self.threshold_ = float(max(0.5, np.nextafter(above, 1.0)))
        log.info(
            "condition model fitted on %d incidents (%d conditions), threshold %.3f",
            len(y),
            sum(y),
            self.threshold_,
        )
        return self

    def _out_of_fold(self, x: np.ndarray, y: np.ndarray, model: object) -> np.ndarray:
        """Each training incident's condition probability from a model fitted without
        it (:data:`THRESHOLD_FOLDS` stratified folds, seeded); in-sample when a class
        has too few incidents to fold."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        folds = min(THRESHOLD_FOLDS, int(np.bincount(y).min()))
        if folds < 2:
            return model.predict_proba(x)[:, 1]  # type: ignore[attr-defined]
        p = np.zeros(len(y))
        for fit_rows, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
            part = LogisticRegression(C=self.c, max_iter=2000).fit(x[fit_rows], y[fit_rows])
            p[held] = part.predict_proba(x[held])[:, 1]
        return p

    def verdict(self, ev: IncidentEvidence) -> ConditionVerdict:
        if self.model_ is None or self.vectorizer_ is None:
            raise ModelError("the condition model is not fitted")
        f = self._features(ev)
        x = self.vectorizer_.transform([f])  # type: ignore[attr-defined]
        p = float(self.model_.predict_proba(x)[0, 1])  # type: ignore[attr-defined]
        coef = self.model_.coef_[0] * x[0]  # type: ignore[attr-defined]
        names = self.vectorizer_.feature_names_  # type: ignore[attr-defined]
        order = np.argsort(-coef)[:5]
        evidence = tuple(
            {
                "feature": names[j],
                "value": round(float(x[0, j]), 3),
                "weight": round(float(coef[j]), 3),
            }
            for j in order
            if coef[j] > 0
        )
        return ConditionVerdict(p, p >= self.threshold_, self.threshold_, evidence)
