"""The pipeline that turns stored telemetry into recommended incidents.

For a time window: read alarms and KPIs from the store, group alarms into incidents
with their KPI anomalies, rank (element, failure mode) candidates with the Bayesian
diagnoser (and users' plugin diagnosers), verify the top candidates on the twin and
re-rank, simulate the remediations of the verified cause, and store each incident
(with its webhook alerts, in one transaction). Incidents whose alarms have all
cleared are resolved (and their resolve alerts sent).

KPI-triggered incidents (sustained anomalies with no alarm: a silent fault) go the same
way; their id is their anchor element and its first anomalous period, and a later
window that no longer reaches back to that period (or a refitted baseline that moves
it) reuses the id of the unresolved KPI incident on the same elements. They resolve once
their anomaly has ended.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from twinrca.alerts.subscriptions import alerts_for
from twinrca.causal.diagnosis import BayesianDiagnoser
from twinrca.core.incident import CandidateDoc, IncidentDoc, RemediationDoc, transition
from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import ElementKind, Topology
from twinrca.detect.baseline import SeasonalBaseline
from twinrca.detect.detector import (
    KPI_QUIET_PERIODS,
    DetectedIncident,
    alarm_reach,
    detect_incidents,
)
from twinrca.detect.episodes import Coverage, reporting_period
from twinrca.fmea.catalogue import Catalogue
from twinrca.runtime.documents import fmea_entry, incident_document
from twinrca.runtime.incident_store import save_incident
from twinrca.runtime.plugins import LoadedPlugin
from twinrca.store.base import Store
from twinrca.twin_replay.demand import Demand, demand_from_telemetry
from twinrca.twin_replay.observe import Observation
from twinrca.twin_replay.simulate import CellParams
from twinrca.twin_replay.verify import rerank, verify_candidates
from twinrca.twin_replay.whatif import what_if

__all__ = ["Pipeline", "PipelineConfig", "incident_key", "merge_sources"]

log = logging.getLogger(__name__)
#: KPIs a baseline fitted on the window itself needs before KPI-triggered incidents open
SILENT_MIN_SPAN = pd.Timedelta(days=2)
_OPEN_STATES = ("open", "diagnosed", "verified", "recommended", "acknowledged")
_NEVER = pd.Timestamp.max.tz_localize("UTC")


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    verify_top: int = 3
    verify_weight: float = 0.5
    verify_scenarios: int = 16
    whatif_scenarios: int = 64
    whatif_horizon_steps: int = 48
    engine: str = "numba"
    seed: int = 0
    #: the running service: store the diagnosed incident before verification (a restart
    #: picks it up again) and skip recommended incidents whose alarms did not change
    checkpoint: bool = False
    skip_unchanged: bool = False


@dataclass
class Pipeline:
    store: Store
    topology: Topology
    catalogue: Catalogue
    diagnoser: BayesianDiagnoser
    config: PipelineConfig = field(default_factory=PipelineConfig)
    plugins: Sequence[LoadedPlugin] = ()
    params: CellParams | None = None
    base_url: str = ""

    def run_window(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[IncidentDoc]:
        """Detect, diagnose, verify and recommend for the window; return stored incidents."""
        alarms = self.store.read_alarms(start, end)
        kpis = self.store.read_kpis(start, end)
        return self.run_frames(alarms, kpis)

    def run_frames(
        self,
        alarms: pd.DataFrame,
        kpis: pd.DataFrame,
        *,
        baseline: SeasonalBaseline | None = None,
        demand: Demand | None = None,
    ) -> list[IncidentDoc]:
        """:meth:`run_window` on frames already read (the service keeps a rolling cache);
        ``baseline`` and ``demand`` default to ones fitted on ``kpis``."""
        if alarms.empty and kpis.empty:
            return []
        # silent faults need a baseline the anomaly is not part of: one given (fitted on
        # the history), or one fitted here on at least SILENT_MIN_SPAN of KPIs
        silent = baseline is not None or _span(kpis) >= SILENT_MIN_SPAN
        if baseline is None:
            baseline = SeasonalBaseline.fit(kpis) if len(kpis) else None
        covered = self._open_alarm_incidents() if silent else []
        detected = detect_incidents(
            alarms, self.topology, kpis=kpis, baseline=baseline, silent=silent, covered=covered
        )
        if not detected:
            return []
        demand = demand if demand is not None else self._demand(kpis)
        known: list[IncidentDoc] = []
        quiet = pd.Timedelta(0)
        has_kpi = any(i.trigger == "kpi" for i in detected)
        if has_kpi:
            known = self._kpi_incidents()
            quiet = reporting_period(kpis["period_end"]) * KPI_QUIET_PERIODS
        out = []
        for inc in detected:
            key = incident_key(inc) if inc.trigger != "kpi" else _kpi_key(inc, known, quiet)
            doc = self._one(inc, alarms, kpis, demand, key)
            out.append(doc)
        if silent:
            alarm_docs = [d for d in out if d.trigger != "kpi"]
            self._supersede(alarm_docs, {d.incident_id for d in out}, known if has_kpi else None)
        return out

    def _supersede(
        self,
        alarm_docs: Sequence[IncidentDoc],
        seen: set[str],
        known: Sequence[IncidentDoc] | None,
    ) -> None:
        """Resolve the unresolved KPI incidents no longer detected because an alarm
        incident now explains their elements (its alarms arrived after the anomaly had
        opened the KPI incident): one fault, one incident for the NOC."""
        if not alarm_docs:
            return
        reach = [
            (
                alarm_reach([e for e in (d.root_element, *d.elements) if e], self.topology),
                pd.Timestamp(d.opened_at),
                d.incident_id,
            )
            for d in alarm_docs
        ]
        # the stored KPI incidents read for this run (those it stored are in ``seen``)
        for kd in self._kpi_incidents() if known is None else known:
            if kd.incident_id in seen or kd.state in (
                IncidentState.RESOLVED,
                IncidentState.ACKNOWLEDGED,
            ):
                continue
            last = pd.Timestamp(kd.last_anomaly_at or kd.opened_at)
            by = [
                iid
                for elements, opened, iid in reach
                if set(kd.elements) <= elements
                and opened <= last + pd.Timedelta(hours=1)
                and opened >= pd.Timestamp(kd.opened_at) - pd.Timedelta(hours=1)
            ]
            if not by:
                continue
            note = f"superseded by alarm incident {by[0]}"
            done = transition(kd, IncidentState.RESOLVED, by="twinrca", note=note)
            self._save(done, kd)
            log.info("incident %s: %s", kd.incident_id, note)

    def _open_alarm_incidents(self) -> list[Coverage]:
        """The reach of the unresolved alarm incidents (opened before the window, their
        alarms may not be in it): no KPI-triggered incident opens inside it."""
        out = []
        for state in _OPEN_STATES:
            for d in self.store.list_documents("incident", where={"state": state}, limit=10_000):
                if d.get("trigger", "alarms") == "kpi" or not d.get("elements"):
                    continue
                cands = [*d["elements"], *([d["root_element"]] if d.get("root_element") else [])]
                cands = [c for c in cands if c in self.topology]
                start = pd.Timestamp(d["opened_at"]) - pd.Timedelta(minutes=30)
                out.append(Coverage(alarm_reach(cands, self.topology), start, _NEVER))
        return out

    def _kpi_incidents(self) -> list[IncidentDoc]:
        docs = self.store.list_documents("incident", where={"trigger": "kpi"}, limit=10_000)
        return [IncidentDoc.model_validate(d) for d in docs]

    # --- one incident ------------------------------------------------------------------
    def _one(
        self,
        inc: DetectedIncident,
        alarms: pd.DataFrame,
        kpis: pd.DataFrame,
        demand: Demand | None,
        key: str | None = None,
    ) -> IncidentDoc:
        t0 = time.perf_counter()
        key = key or incident_key(inc)
        existing = self.store.get_document("incident", key)
        if existing is not None and existing.get("state") in ("acknowledged", "resolved"):
            return IncidentDoc.model_validate(existing)  # a person owns it now
        prior = IncidentDoc.model_validate(existing) if existing is not None else None
        fingerprint = _fingerprint(inc, alarms)
        if (
            self.config.skip_unchanged
            and prior is not None
            and prior.state is IncidentState.RECOMMENDED
            and prior.fingerprint == fingerprint
        ):
            return prior  # nothing new since it was recommended
        builtin = list(self.diagnoser.rank(inc.evidence, top=5))
        from_plugins = [
            [
                RootCauseCandidate(
                    c.element, c.failure_mode, c.probability, {**dict(c.evidence), "source": p.name}
                )
                for c in p.instance.rank(inc.evidence)
            ]
            for p in self.plugins
        ]
        ranked = merge_sources(builtin, from_plugins, top=self.config.verify_top)
        t_diag = time.perf_counter()
        doc = incident_document(
            inc,
            ranked,
            tenant=self.store.tenant,
            catalogue=self.catalogue,
            topology=self.topology,
            incident_id=key,
        )
        doc = doc.model_copy(
            update={"unverified_candidates": list(doc.candidates), "fingerprint": fingerprint}
        )
        if prior is not None and inc.trigger == "kpi" and prior.opened_at < doc.opened_at:
            # a later window no longer reaches the first anomalous period: keep it
            doc = doc.model_copy(update={"opened_at": prior.opened_at})
        if self.config.checkpoint and (prior is None or _before(prior.state, doc.state)):
            doc = _stamped(doc, prior)
            self._save(doc, prior)
            prior = doc
        verified, verification = self._verify(inc, ranked, alarms, kpis, demand)
        t_ver = time.perf_counter()
        if verified:
            doc = doc.model_copy(
                update={
                    "candidates": _candidate_docs(verified, doc, self.catalogue),
                    "verification": verification,
                    "root_element": verified[0].element,
                    "state": IncidentState.VERIFIED,
                }
            )
            doc = doc.model_copy(
                update={
                    "alarms": [
                        a.model_copy(update={"root": a.managed_object == verified[0].element})
                        for a in doc.alarms
                    ]
                }
            )
            remediations = self._what_if(inc, verified[0], demand)
            if remediations:
                doc = doc.model_copy(
                    update={"remediations": remediations, "state": IncidentState.RECOMMENDED}
                )
        t_rec = time.perf_counter()
        doc = doc.model_copy(
            update={
                "timings": {
                    "diagnose_s": t_diag - t0,
                    "verify_s": t_ver - t_diag,
                    "what_if_s": t_rec - t_ver,
                    "total_s": t_rec - t0,
                }
            }
        )
        if prior is not None and _before(doc.state, prior.state):
            log.warning("incident %s: re-run fell short of %s, kept as it was", key, prior.state)
            doc = prior.model_copy(update={"fingerprint": fingerprint})
        if inc.trigger == "kpi":
            doc = doc.model_copy(update={"last_anomaly_at": inc.group.end})
        doc = _stamped(doc, prior)
        if _resolved(inc, alarms):
            self._save(doc, prior)
            prior = doc
            note = "all alarms cleared" if inc.trigger != "kpi" else "KPI anomaly ended"
            doc = transition(doc, IncidentState.RESOLVED, by="twinrca", note=note)
        self._save(doc, prior)
        return doc

    def _save(self, doc: IncidentDoc, prior: IncidentDoc | None) -> None:
        """Store ``doc``; alerts only when its state changed (a re-run sends nothing)."""
        changed = prior is None or prior.state != doc.state
        alerts = alerts_for(self.store, doc, base_url=self.base_url) if changed else []
        save_incident(self.store, doc, alerts=alerts)

    def _verify(
        self,
        inc: DetectedIncident,
        ranked: list[RootCauseCandidate],
        alarms: pd.DataFrame,
        kpis: pd.DataFrame,
        demand: Demand | None,
    ) -> tuple[list[RootCauseCandidate], dict]:
        # the top of every source (built-in and each plugin) is verified
        top = ranked[: self.config.verify_top * (1 + len(self.plugins))]
        if not top or demand is None:
            return [], {}
        lo = pd.Timestamp(inc.group.start) - pd.Timedelta(hours=2)
        hi = pd.Timestamp(inc.group.end) + pd.Timedelta(hours=4)
        elements = set(inc.evidence.candidates) | set(inc.group.elements)
        for e in list(elements):
            elements |= (
                self.topology.descendants(e)
                if self.topology.element(e).kind != ElementKind.CORE
                else set()
            )
        a = alarms
        if len(alarms):
            at = pd.to_datetime(alarms["event_time"], utc=True)
            a = alarms[(at >= lo) & (at <= hi)]
        t = pd.to_datetime(kpis["period_end"], utc=True)
        k = kpis[(t >= lo) & (t <= hi) & kpis["managed_object"].isin(elements)]
        obs = Observation.from_frames(a, k)
        window = _steps(demand, lo, hi)
        try:
            ver = verify_candidates(
                self.topology,
                obs,
                top,
                demand=demand,
                params=self.params,
                window=window,
                scenarios=self.config.verify_scenarios,
                seed=self.config.seed,
                catalogue=self.catalogue,
                engine=self.config.engine,
            )
        except Exception:  # verification must never lose an incident: keep the unverified ranking
            log.exception("verification failed for %s", incident_key(inc))
            return [], {}
        reranked = rerank(top, ver, weight=self.config.verify_weight)
        payload = {f"{v.candidate.element}|{v.candidate.failure_mode}": v.to_json() for v in ver}
        return reranked + ranked[len(top) :], payload

    def _what_if(
        self, inc: DetectedIncident, cause: RootCauseCandidate, demand: Demand | None
    ) -> list[RemediationDoc]:
        if demand is None:
            return []
        now = _steps(demand, pd.Timestamp(inc.group.end), pd.Timestamp(inc.group.end))[0]
        start = _steps(demand, pd.Timestamp(inc.group.start), pd.Timestamp(inc.group.start))[0]
        try:
            outcomes = what_if(
                self.topology,
                (cause.element, cause.failure_mode),
                now_step=now,
                demand=demand,
                params=self.params,
                scenarios=self.config.whatif_scenarios,
                seed=self.config.seed,
                horizon_steps=self.config.whatif_horizon_steps,
                fault_start_step=start,
                catalogue=self.catalogue,
                engine=self.config.engine,
            )
        except Exception:
            log.exception("what-if failed for %s", incident_key(inc))
            return []
        return [RemediationDoc.from_record(o.to_record()) for o in outcomes]

    def _demand(self, kpis: pd.DataFrame) -> Demand | None:
        if kpis.empty or not (kpis["measurement"] == "dl_throughput_mbps").any():
            return None
        frame = kpis.rename(columns={"managed_object": "element_id", "period_end": "time"})
        return demand_from_telemetry(frame, self.topology)


def merge_sources(
    builtin: list[RootCauseCandidate], plugins: list[list[RootCauseCandidate]], *, top: int
) -> list[RootCauseCandidate]:
    """One ranking from the built-in diagnoser and users' plugins: the ``top`` candidates
    of every source, each source's probabilities normalised and weighted equally (so a
    plugin's candidates reach twin verification like the built-in ones), then the rest
    of the built-in ranking."""
    pools = [builtin[:top]] + [p[:top] for p in plugins if p]
    if len(pools) == 1:
        return builtin
    merged: dict[tuple[str, str], RootCauseCandidate] = {}
    for pool in pools:
        total = sum(c.probability for c in pool) or 1.0
        for c in pool:
            key = (c.element, c.failure_mode)
            share = c.probability / total / len(pools)
            first = merged.get(key, c)
            earlier = merged[key].probability if key in merged else 0.0
            merged[key] = RootCauseCandidate(
                c.element, c.failure_mode, earlier + share, first.evidence
            )
    head = sorted(merged.values(), key=lambda c: -c.probability)
    return head + [c for c in builtin[top:] if (c.element, c.failure_mode) not in merged]


def incident_key(inc: DetectedIncident) -> str:
    """A stable id for an incident: the time and element of its first alarm, so a
    re-run of the same window (or a restarted service) updates, not duplicates, it.
    A KPI-triggered incident (no alarm): its anchor element and the first anomalous
    period of the anchor's episode (``inc-kpi-...``)."""
    if inc.trigger == "kpi" or inc.alarms.empty:
        anchor = inc.group.anchor or inc.group.root_element or inc.group.elements[0]
        at = inc.group.anchor_start or inc.group.start
        stamp = pd.Timestamp(at).strftime("%Y%m%dT%H%M%S")
        return f"inc-kpi-{stamp}-{str(anchor).replace(':', '-')}"
    first = inc.alarms.sort_values(["event_time", "alarm_id"], kind="stable").iloc[0]
    stamp = pd.Timestamp(first["event_time"]).strftime("%Y%m%dT%H%M%S")
    return f"inc-{stamp}-{str(first['managed_object']).replace(':', '-')}"


def _kpi_key(inc: DetectedIncident, known: Sequence[IncidentDoc], quiet: pd.Timedelta) -> str:
    """:func:`incident_key`, or the id of the KPI incident this one continues (the window
    moved past its first anomalous period, or a refitted baseline moved it): the oldest
    sharing an element, opened no later than this one's last anomaly, and unresolved or
    resolved less than ``quiet`` before this one began (the same anomaly seen again, not
    a new one: that begins only after ``quiet`` with no anomaly)."""
    key = incident_key(inc)
    if any(d.incident_id == key for d in known):
        return key
    elements = set(inc.group.elements)
    start, end = pd.Timestamp(inc.group.start), pd.Timestamp(inc.group.end)

    def continues(d: IncidentDoc) -> bool:
        if not elements & set(d.elements) or pd.Timestamp(d.opened_at) > end:
            return False
        if d.state is not IncidentState.RESOLVED:
            return True
        last = d.last_anomaly_at
        return last is not None and start <= pd.Timestamp(last) + quiet

    same = [d for d in known if continues(d)]
    if not same:
        return key
    return min(same, key=lambda d: (pd.Timestamp(d.opened_at), d.incident_id)).incident_id


def _fingerprint(inc: DetectedIncident, alarms: pd.DataFrame) -> str:
    """What an incident is made of: its raised alarms and whether all have cleared (a
    KPI-triggered one: its elements and whether its anomaly has ended)."""
    if inc.trigger == "kpi":
        text = f"kpi|{','.join(inc.group.elements)}|{inc.ended}"
    else:
        ids = ",".join(sorted(inc.alarms["alarm_id"].astype(str)))
        text = f"{ids}|{_all_cleared(inc, alarms)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _resolved(inc: DetectedIncident, alarms: pd.DataFrame) -> bool:
    """All alarms cleared; for a KPI-triggered incident: its anomaly has ended."""
    return inc.ended if inc.trigger == "kpi" else _all_cleared(inc, alarms)


def _span(kpis: pd.DataFrame) -> pd.Timedelta:
    if kpis.empty:
        return pd.Timedelta(0)
    t = pd.to_datetime(kpis["period_end"], utc=True)
    return t.max() - t.min()


def _before(a: IncidentState, b: IncidentState) -> bool:
    order = list(IncidentState)
    return order.index(a) < order.index(b)


def _stamped(doc: IncidentDoc, prior: IncidentDoc | None) -> IncidentDoc:
    """``doc`` with the prior history, plus an entry when its state is new."""
    history = list(prior.history) if prior is not None else []
    if prior is None or prior.state != doc.state:
        history.append({"state": str(doc.state), "at": utcnow().isoformat(), "by": "twinrca"})
    return doc.model_copy(update={"history": history})


def _all_cleared(inc: DetectedIncident, alarms: pd.DataFrame) -> bool:
    if inc.alarms.empty or alarms.empty:
        return False
    ids = set(inc.alarms["alarm_id"].astype(str))
    cleared = set(alarms.loc[alarms["state"].astype(str) == "cleared", "alarm_id"].astype(str))
    return bool(ids) and ids <= cleared


def _steps(demand: Demand, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[int, int]:
    step = pd.Timedelta(minutes=demand.step_minutes)
    start = pd.Timestamp(demand.start)
    a = int(np.clip((lo - start) // step, 0, demand.steps - 1))
    b = int(np.clip((hi - start) // step + 1, a + 1, demand.steps))
    return a, b


def _candidate_docs(
    ranked: list[RootCauseCandidate], doc: IncidentDoc, catalogue: Catalogue
) -> list[CandidateDoc]:
    by_key = {(c.element, c.failure_mode): c for c in doc.unverified_candidates}
    out = []
    for c in ranked:
        old = by_key.get((c.element, c.failure_mode))
        out.append(
            CandidateDoc(
                element=c.element,
                failure_mode=c.failure_mode,
                probability=c.probability,
                verified_score=c.verified_score,
                evidence=dict(old.evidence if old else c.evidence),
                fmea=old.fmea if old else fmea_entry(catalogue, c.failure_mode),
                source=str(dict(c.evidence).get("source", "builtin")),
            )
        )
    return out
