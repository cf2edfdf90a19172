"""Bayesian diagnosis: the posterior over (element, failure mode) for an incident.

The model is a Bayesian network ``Mode -> symptom_j`` fitted (:func:`dirichlet_tables`:
the tables pgmpy's ``DiscreteBayesianEstimator`` gives under a Dirichlet prior whose
pseudo-counts follow each symptom's pooled frequency, the m-estimate, counted with
NumPy) on labelled incidents (twin scenarios, confirmed incidents).
Symptoms are read *relative to a candidate element* ``e``: for each alarm signature
(probable cause | specific problem), whether it shows
on ``e`` itself, on an element upstream of ``e``, on the share of elements ``e`` feeds,
on neighbour cells; for each KPI anomaly (measurement, direction) on ``e`` and on its
descendants; the share of the incident's alarmed elements that ``e`` can explain; and
whether ``e`` raised the incident's first alarm.

For a candidate hypothesis ``H = (e, m)`` the score is the log prior of ``m`` (from the
FMEA occurrence rating) plus the log likelihood ratio of ``e``'s symptoms under ``m``
against the class ``ok:<kind>`` (a healthy element of the same kind near the incident,
learned from the non-root elements of the training incidents). Exact inference over the incident's
candidate set is then a normalised exponential of those scores (one root cause per
incident; a temperature and the weight of the KPI symptoms, which move together
and are not independent, fitted on the training incidents).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twinrca.causal._tables import dirichlet_tables
from twinrca.core.errors import ModelError
from twinrca.core.records import RootCauseCandidate
from twinrca.core.topology import ElementKind, Topology
from twinrca.detect.detector import IncidentEvidence

if TYPE_CHECKING:
    from twinrca.causal.conditions import ConditionVerdict

__all__ = [
    "BayesianDiagnoser",
    "IncidentEvidence",
    "SymptomEncoder",
    "signature",
]

log = logging.getLogger(__name__)
OK = "ok"


def signature(probable_cause: str, specific_problem: str) -> str:
    return f"{probable_cause}|{specific_problem}"


@dataclass(frozen=True, slots=True)
class _Observed:
    by_sig: dict[str, frozenset[str]]
    by_kpi: dict[str, frozenset[str]]
    alarmed: frozenset[str]
    first: frozenset[str]


class SymptomEncoder:
    """Turns an incident into one discrete symptom vector per candidate element."""

    def __init__(
        self, topology: Topology, alarm_vocab: Sequence[str], kpi_vocab: Sequence[str]
    ) -> None:
        self.topology = topology
        self.alarm_vocab = list(alarm_vocab)
        self.kpi_vocab = list(kpi_vocab)
        names = []
        for s in self.alarm_vocab:
            names += [f"A:{s}:self", f"A:{s}:up", f"A:{s}:down", f"A:{s}:nb"]
        for k in self.kpi_vocab:
            names += [f"K:{k}:self", f"K:{k}:down"]
        names += ["scope", "first"]
        self.feature_names = names
        self.cardinality = [3 if n.endswith(":down") or n == "scope" else 2 for n in names]
        self._desc_cache: dict[str, frozenset[str]] = {}
        self._anc_cache: dict[str, frozenset[str]] = {}
        self._nb_cache: dict[str, frozenset[str]] = {}

    def _desc(self, e: str) -> frozenset[str]:
        got = self._desc_cache.get(e)
        if got is None:
            got = self._desc_cache[e] = frozenset(self.topology.descendants(e))
        return got

    def _anc(self, e: str) -> frozenset[str]:
        got = self._anc_cache.get(e)
        if got is None:
            got = self._anc_cache[e] = frozenset(self.topology.ancestors(e))
        return got

    def _nb(self, e: str) -> frozenset[str]:
        got = self._nb_cache.get(e)
        if got is None:
            got = self._nb_cache[e] = self._neighbourhood(e)
        return got

    def _neighbourhood(self, e: str) -> frozenset[str]:
        topo = self.topology
        cells = {e} | {d for d in self._desc(e) if topo.element(d).kind == ElementKind.CELL}
        return frozenset(n for c in cells for n in topo.neighbours(c)) - cells

    def observe(self, ev: IncidentEvidence) -> _Observed:
        a = ev.alarms
        sigs = (
            a["probable_cause"].astype(str) + "|" + a["specific_problem"].astype(str)
        ).to_numpy()
        mos = a["managed_object"].astype(str).to_numpy()
        by_sig: dict[str, set[str]] = {}
        for s, mo in zip(sigs, mos, strict=True):
            by_sig.setdefault(s, set()).add(mo)
        by_kpi: dict[str, set[str]] = {}
        k = ev.anomalies
        if len(k):
            names = k["measurement"].astype(str).to_numpy()
            dirs = np.where(k["direction"].to_numpy() > 0, "up", "down")
            for name, d, mo in zip(
                names, dirs, k["managed_object"].astype(str).to_numpy(), strict=True
            ):
                by_kpi.setdefault(f"{name}:{d}", set()).add(mo)
        first: frozenset[str] = frozenset()
        if len(a):
            t = pd.to_datetime(a["event_time"], utc=True)
            first = frozenset(a.loc[t == t.min(), "managed_object"].astype(str))
        return _Observed(
            by_sig={s: frozenset(v) for s, v in by_sig.items()},
            by_kpi={s: frozenset(v) for s, v in by_kpi.items()},
            alarmed=frozenset(mos),
            first=first,
        )

    def encode(self, obs: _Observed, element: str) -> np.ndarray:
        desc = self._desc(element)
        anc = self._anc(element)
        nb = self._nb(element)
        n_desc = len(desc)
        out = np.zeros(len(self.feature_names), dtype=np.int8)
        i = 0
        for s in self.alarm_vocab:
            els = obs.by_sig.get(s, frozenset())
            if els:
                out[i] = element in els
                out[i + 1] = not els.isdisjoint(anc)
                out[i + 2] = _share_bin(len(els & desc), n_desc)
                out[i + 3] = not els.isdisjoint(nb)
            i += 4
        for k in self.kpi_vocab:
            els = obs.by_kpi.get(k, frozenset())
            if els:
                out[i] = element in els
                out[i + 1] = _share_bin(len(els & desc), n_desc)
            i += 2
        scope = {element} | desc | nb
        explained = len(obs.alarmed & scope) / max(1, len(obs.alarmed))
        out[i] = 0 if explained < 0.5 else (1 if explained < 0.95 else 2)
        out[i + 1] = element in obs.first
        return out


def _share_bin(hit: int, total: int) -> int:
    if hit == 0 or total == 0:
        return 0
    return 1 if hit / total < 0.5 else 2


@dataclass
class BayesianDiagnoser:
    """Fitted Mode -> symptoms network and the scoring over an incident's candidates."""

    topology: Topology
    mode_kinds: Mapping[str, str]  # failure mode id -> element kind it strikes
    mode_prior: Mapping[str, float]  # failure mode id -> prior weight (from FMEA occurrence)
    alarm_vocab: Sequence[str] = ()
    kpi_vocab: Sequence[str] = ()
    temperature: float = 1.0
    kpi_weight: float = 1.0
    smoothing: float = 2.0  # pseudo-count mass of the m-estimate prior
    # fitted state (scikit-learn's rule: fit keeps the constructor parameters above)
    alarm_vocab_: list[str] = field(default_factory=list, init=False, repr=False)
    kpi_vocab_: list[str] = field(default_factory=list, init=False, repr=False)
    classes_: list[str] = field(default_factory=list, init=False, repr=False)
    temperature_: float = field(default=1.0, init=False, repr=False)
    kpi_weight_: float = field(default=1.0, init=False, repr=False)
    logp_: np.ndarray | None = field(
        default=None, init=False, repr=False
    )  # [class, feature, state]
    encoder_: SymptomEncoder | None = field(default=None, init=False, repr=False)
    #: the "no fault / condition" outcome (:meth:`fit_conditions`), None until fitted
    condition_model_: Any = field(default=None, init=False, repr=False)

    def _ok(self, element: str) -> str:
        """The healthy class of an element's kind (healthy cores look unlike healthy cells)."""
        return f"{OK}:{self.topology.element(element).kind}"

    # --- fitting -------------------------------------------------------------------
    def fit(
        self,
        incidents: Iterable[tuple[IncidentEvidence, str, str]],
        *,
        fit_temperature: bool = True,
    ) -> BayesianDiagnoser:
        """``incidents``: (evidence, true root element, true failure mode id)."""
        incidents = list(incidents)
        if not incidents:
            raise ModelError("no labelled incidents to fit the diagnoser on")
        # vocabulary: what the caller knows (the catalogue's alarms) and what training shows
        sigs, kpis = set(self.alarm_vocab), set(self.kpi_vocab)
        for ev, _, _ in incidents:
            a = ev.alarms
            sigs |= set(a["probable_cause"].astype(str) + "|" + a["specific_problem"].astype(str))
            if len(ev.anomalies):
                d = np.where(ev.anomalies["direction"].to_numpy() > 0, ":up", ":down")
                kpis |= set(ev.anomalies["measurement"].astype(str).to_numpy() + d)
        self.alarm_vocab_, self.kpi_vocab_ = sorted(sigs), sorted(kpis)
        enc = self.encoder_ = SymptomEncoder(self.topology, self.alarm_vocab_, self.kpi_vocab_)
        rows, labels = [], []
        for ev, root, mode in incidents:
            obs = enc.observe(ev)
            for e in ev.candidates:
                rows.append(enc.encode(obs, e))
                labels.append(mode if e == root else self._ok(e))
            if root not in ev.candidates:
                rows.append(enc.encode(obs, root))
                labels.append(mode)
        kinds = {str(k) for k in ElementKind}
        self.classes_ = sorted(set(self.mode_kinds) | {OK} | {f"{OK}:{k}" for k in kinds})
        x = np.vstack(rows)
        self.logp_ = dirichlet_tables(x, labels, self.classes_, enc.cardinality, self.smoothing)
        self.temperature_, self.kpi_weight_ = self.temperature, self.kpi_weight
        if fit_temperature:
            self.kpi_weight_, self.temperature_ = self._fit_temperature(incidents)
        log.info(
            "diagnoser fitted on %d incidents, %d symptom variables, T=%.2f, KPI weight %.2f",
            len(incidents),
            x.shape[1],
            self.temperature_,
            self.kpi_weight_,
        )
        return self

    def _fit_temperature(
        self, incidents: list[tuple[IncidentEvidence, str, str]]
    ) -> tuple[float, float]:
        """Fit the KPI-symptom weight and the temperature on the training incidents
        (log loss of the true (element, mode)). KPI anomalies of one outage move
        together, so counting each as independent evidence would drown the alarms:
        the weight is the calibrated share of their naive log likelihood ratio."""
        comps = [(self._components(ev), root, mode) for ev, root, mode in incidents]
        best = (np.inf, 1.0, 1.0)
        for wk in (1.0, 0.5, 0.3, 0.2, 0.1, 0.05):
            for t in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0):
                nll = 0.0
                for (keys, c), root, mode in comps:
                    if not keys:
                        continue
                    z = (c[:, 0] + c[:, 1] + wk * c[:, 2]) / t
                    z = z - z.max()
                    lse = np.log(np.exp(z).sum())
                    idx = next((i for i, k in enumerate(keys) if k == (root, mode)), None)
                    nll += (lse - z[idx]) if idx is not None else 10.0
                if nll < best[0]:
                    best = (nll, wk, t)
        return best[1], best[2]

    def for_topology(self, topology: Topology) -> BayesianDiagnoser:
        """This fitted model bound to another network built from the same element kinds
        (its tables are per failure mode and per kind, its symptoms read relative to a
        candidate on whichever network it is given): a copy, the model is unchanged."""
        if self.logp_ is None or self.encoder_ is None:
            raise ModelError("the diagnoser is not fitted")
        if topology is self.topology:
            return self
        out = copy.copy(self)
        out.topology = topology
        out.encoder_ = SymptomEncoder(topology, self.alarm_vocab_, self.kpi_vocab_)
        model = getattr(self, "condition_model_", None)
        if model is not None:
            out.condition_model_ = copy.copy(model)
            out.condition_model_.scorer = out.best_hypothesis
        return out

    # --- inference -----------------------------------------------------------------
    def _components(self, ev: IncidentEvidence) -> tuple[list[tuple[str, str]], np.ndarray]:
        """Per candidate (element, mode): [log prior, alarm+structure log LR, KPI log LR]."""
        if self.logp_ is None or self.encoder_ is None:
            raise ModelError("the diagnoser is not fitted")
        enc, logp = self.encoder_, self.logp_
        obs = enc.observe(ev)
        cols = np.arange(len(enc.cardinality))
        is_kpi = self._kpi_mask
        keys, rows = [], []
        for e in ev.candidates:
            kind = str(self.topology.element(e).kind)
            x = enc.encode(obs, e)
            base = logp[self.classes_.index(self._ok(e)), cols, x]
            for m, mk in self.mode_kinds.items():
                if mk != kind:
                    continue
                lr = logp[self.classes_.index(m), cols, x] - base
                keys.append((e, m))
                rows.append(
                    (np.log(self.mode_prior.get(m, 1.0)), lr[~is_kpi].sum(), lr[is_kpi].sum())
                )
        return keys, np.asarray(rows, dtype=float).reshape(-1, 3)

    def _scores(self, ev: IncidentEvidence) -> tuple[list[tuple[str, str]], np.ndarray]:
        keys, c = self._components(ev)
        return keys, c[:, 0] + c[:, 1] + self.kpi_weight_ * c[:, 2]

    @property
    def _kpi_mask(self) -> np.ndarray:
        if self.encoder_ is None:
            raise ModelError("the diagnoser is not fitted")
        return np.array([n.startswith("K:") for n in self.encoder_.feature_names])

    def best_hypothesis(self, ev: IncidentEvidence) -> tuple[float, float]:
        """(score, posterior) of the incident's best fault hypothesis; (-inf-ish, 0) when
        no candidate has a mode."""
        keys, scores = self._scores(ev)
        if not keys:
            return (-20.0, 0.0)
        z = scores / self.temperature_
        post = np.exp(z - z.max())
        return float(scores.max()), float(1.0 / post.sum())

    def fit_conditions(
        self, incidents: Iterable[tuple[IncidentEvidence, bool]]
    ) -> BayesianDiagnoser:
        """Fit the "no fault / condition" outcome on (evidence, is_condition) pairs: the
        twin's incidents with and without a planted fault (after :meth:`fit`)."""
        from twinrca.causal.conditions import ConditionModel

        self.condition_model_ = ConditionModel(self.best_hypothesis).fit(incidents)
        return self

    def condition(self, ev: IncidentEvidence) -> ConditionVerdict | None:
        """The incident's condition verdict; None when no condition model is fitted."""
        model = getattr(self, "condition_model_", None)
        return None if model is None else model.verdict(ev)

    def rank(self, ev: IncidentEvidence, *, top: int = 10) -> list[RootCauseCandidate]:
        """Candidates best first with their posterior probability and evidence."""
        keys, scores = self._scores(ev)
        if not keys:
            return []
        z = scores / self.temperature_
        post = np.exp(z - z.max())
        post /= post.sum()
        order = np.argsort(-post, kind="stable")[:top]
        obs = self.encoder_.observe(ev) if self.encoder_ else None
        out = []
        for i in order:
            e, m = keys[i]
            out.append(
                RootCauseCandidate(
                    element=e,
                    failure_mode=m,
                    probability=float(post[i]),
                    evidence=self._evidence(obs, e, m),
                )
            )
        return out

    def _evidence(self, obs: _Observed | None, element: str, mode: str) -> dict[str, object]:
        if obs is None or self.encoder_ is None or self.logp_ is None:
            return {}
        enc = self.encoder_
        x = enc.encode(obs, element)
        c, ok = self.classes_.index(mode), self.classes_.index(self._ok(element))
        cols = np.arange(len(x))
        contrib = self.logp_[c, cols, x] - self.logp_[ok, cols, x]
        contrib = np.where(self._kpi_mask, self.kpi_weight_ * contrib, contrib)
        best = np.argsort(-contrib)[:5]
        return {
            "symptoms": [
                {
                    "symptom": enc.feature_names[j],
                    "state": int(x[j]),
                    "log_lr": round(float(contrib[j]), 3),
                }
                for j in best
                if contrib[j] > 0
            ],
            "own_alarms": sorted(s for s, els in obs.by_sig.items() if element in els),
            "anomalous_kpis": sorted(k for k, els in obs.by_kpi.items() if element in els),
        }
