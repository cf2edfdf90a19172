"""The incident flow: stored telemetry to recommended incidents, in typed stages.

For a time window: **detect** (:func:`twinrca.detect.detector.detect_window`: alarm
groups and silent faults, with their KPI anomalies), then per incident **diagnose**
(the built-in diagnoser and users' plugins through one path), **verify** on the twin and
re-rank, **recommend** (what-if of the verified cause's remediations) — the stages of
:mod:`twinrca.runtime.stages` — and **persist** (each incident with its webhook alerts,
in one transaction). Incidents whose alarms have all
cleared are resolved (and their resolve alerts sent).

KPI-triggered incidents (sustained anomalies with no alarm: a silent fault) go the same
way; their id is their anchor element and its first anomalous period, and a later
window that no longer reaches back to that period (or a refitted baseline that moves
it) reuses the id of the unresolved KPI incident on the same elements. They resolve once
their anomaly has ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from twinrca.alerts.subscriptions import alerts_for
from twinrca.causal.diagnosis import BayesianDiagnoser
from twinrca.core.incident import (
    OPEN_STATES,
    OWNED_STATES,
    IncidentDoc,
    before,
    transition,
)
from twinrca.core.records import IncidentState, RootCauseCandidate
from twinrca.core.timeutil import utcnow
from twinrca.core.topology import Topology
from twinrca.detect.baseline import SeasonalBaseline
from twinrca.detect.detector import (
    KPI_QUIET_PERIODS,
    DetectedIncident,
    alarm_reach,
    detect_window,
)
from twinrca.detect.episodes import Coverage, reporting_period
from twinrca.detect.silences import Silence, active_silences, covering
from twinrca.fmea.catalogue import Catalogue
from twinrca.runtime import stages
from twinrca.runtime.documents import incident_document
from twinrca.runtime.followups import follow_up
from twinrca.runtime.incident_store import save_incident
from twinrca.runtime.keys import cleared_at, fingerprint, incident_key, kpi_key, resolved
from twinrca.runtime.plugins import LoadedPlugin
from twinrca.runtime.stages import PipelineConfig, merge_sources
from twinrca.runtime.twin_drift import drift_input
from twinrca.store.base import Store
from twinrca.twin_replay.demand import Demand, demand_from_telemetry
from twinrca.twin_replay.simulate import CellParams

__all__ = ["Pipeline", "PipelineConfig", "incident_key", "merge_sources"]

log = logging.getLogger(__name__)
_NEVER = pd.Timestamp.max.tz_localize("UTC")


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
    _silences: list[Silence] = field(default_factory=list, init=False, repr=False)
    _data_now: pd.Timestamp | None = field(default=None, init=False, repr=False)

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
        detection = detect_window(
            alarms, kpis, self.topology, baseline=baseline, covered=self._open_alarm_incidents
        )
        detected = detection.incidents
        if not detected:
            return []
        self._silences = active_silences(self.store.list_documents("silence", limit=10_000))
        self._data_now = _newest(alarms, kpis)
        demand = demand if demand is not None else self._demand(kpis)
        known: list[IncidentDoc] = []
        quiet = pd.Timedelta(0)
        has_kpi = any(i.trigger == "kpi" for i in detected)
        if has_kpi:
            known = self._kpi_incidents()
            quiet = reporting_period(kpis["period_end"]) * KPI_QUIET_PERIODS
        out = []
        for inc in detected:
            key = incident_key(inc) if inc.trigger != "kpi" else kpi_key(inc, known, quiet)
            out.append(self._one(inc, alarms, kpis, demand, key))
        if detection.silent:
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
            if kd.incident_id in seen or kd.state in OWNED_STATES:
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
        for state in OPEN_STATES:
            where = {"state": str(state)}
            for d in self.store.list_documents("incident", where=where, limit=10_000):
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

    # --- one incident: diagnose -> verify -> recommend -> persist -------------------------
    @property
    def _twin(self) -> stages.Twin:
        return stages.Twin(self.topology, self.catalogue, self.config, self.params)

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
        prior = IncidentDoc.model_validate(existing) if existing is not None else None
        if prior is not None and prior.state in OWNED_STATES:
            return prior  # a person owns it now
        made_of = fingerprint(inc, alarms)
        if (
            self.config.skip_unchanged
            and prior is not None
            and prior.state is IncidentState.RECOMMENDED
            and prior.fingerprint == made_of
        ):
            return prior  # nothing new since it was recommended
        inc = drift_input(self.store, inc)  # twin-drift findings: evidence (issue 19)
        diagnosers = stages.sources(self.diagnoser, self.plugins)
        ranked = stages.diagnose(inc, diagnosers, top=self.config.verify_top)
        t_diag = time.perf_counter()
        doc = self._diagnosed(inc, ranked, key, made_of, prior)
        kept = (
            self._silenced(inc, doc, ranked)
            or follow_up(self.store, inc, doc, ranked, prior)
            or self._condition(inc, doc, prior)
        )
        if kept is not None:
            kept = kept.model_copy(update={"timings": {"diagnose_s": t_diag - t0}})
            return self._persist(inc, kept, prior, alarms, made_of)
        if self.config.checkpoint and (prior is None or before(prior.state, doc.state)):
            doc = _stamped(doc, prior)
            self._save(doc, prior)
            prior = doc
        twin = self._twin
        verified = stages.verify(twin, inc, ranked, alarms, kpis, demand, n_sources=len(diagnosers))
        t_ver = time.perf_counter()
        if verified.candidates:
            doc = stages.verified_document(doc, verified, self.catalogue)
            remediations = stages.recommend(twin, inc, verified.candidates[0], demand)
            if remediations:
                doc = doc.model_copy(
                    update={"remediations": remediations, "state": IncidentState.RECOMMENDED}
                )
        t_rec = time.perf_counter()
        timings = {
            "diagnose_s": t_diag - t0,
            "verify_s": t_ver - t_diag,
            "what_if_s": t_rec - t_ver,
            "total_s": t_rec - t0,
        }
        doc = doc.model_copy(update={"timings": timings})
        return self._persist(inc, doc, prior, alarms, made_of)

    def _silenced(
        self, inc: DetectedIncident, doc: IncidentDoc, ranked: list[RootCauseCandidate]
    ) -> IncidentDoc | None:
        """The incident kept as silenced (not paged, no verification, no remediation)
        when an active silence covers its top candidate, region and failure mode at the
        time it started; None otherwise."""
        if not self._silences:
            return None
        top = ranked[0] if ranked else None
        hit = covering(
            self._silences,
            at=pd.Timestamp(inc.group.start),
            elements=[top.element] if top else list(inc.group.elements),
            region=doc.region,
            failure_mode=top.failure_mode if top else None,
            topology=self.topology,
            still=self._data_now,
        )
        if hit is None:
            return None
        return doc.model_copy(
            update={
                "state": IncidentState.SILENCED,
                "remediations": [],
                "silence": {
                    "silence_id": hit.silence_id,
                    "ends_at": hit.ends_at.isoformat(),
                    "comment": hit.comment,
                    "created_by": hit.created_by,
                },
            }
        )

    def _condition(
        self, inc: DetectedIncident, doc: IncidentDoc, prior: IncidentDoc | None
    ) -> IncidentDoc | None:
        """The incident kept as a condition (severity warning, no verification, no
        remediation, not paged) when the diagnoser says no fault; None otherwise, or
        when it is already past diagnosis (it paged: it stays a fault)."""
        if prior is not None and before(IncidentState.FOLLOW_UP, prior.state):
            return None
        judge = getattr(self.diagnoser, "condition", None)
        verdict = judge(inc.evidence) if judge is not None else None
        if verdict is None or not verdict.condition:
            return None
        return doc.model_copy(
            update={
                "state": IncidentState.CONDITION,
                "severity": "WARNING",
                "remediations": [],
                "condition": {
                    "probability": round(verdict.probability, 4),
                    "threshold": round(verdict.threshold, 4),
                    "evidence": list(verdict.evidence),
                },
            }
        )

    def _diagnosed(
        self,
        inc: DetectedIncident,
        ranked: list[RootCauseCandidate],
        key: str,
        made_of: str,
        prior: IncidentDoc | None,
    ) -> IncidentDoc:
        """The diagnose stage's document: ranked candidates, not yet verified."""
        doc = incident_document(
            inc,
            ranked,
            tenant=self.store.tenant,
            catalogue=self.catalogue,
            topology=self.topology,
            incident_id=key,
        )
        update: dict[str, object] = {
            "unverified_candidates": list(doc.candidates),
            "fingerprint": made_of,
        }
        if prior is not None and inc.trigger == "kpi" and prior.opened_at < doc.opened_at:
            # a later window no longer reaches the first anomalous period: keep it
            update["opened_at"] = prior.opened_at
        return doc.model_copy(update=update)

    def _persist(
        self,
        inc: DetectedIncident,
        doc: IncidentDoc,
        prior: IncidentDoc | None,
        alarms: pd.DataFrame,
        made_of: str,
    ) -> IncidentDoc:
        """Store the incident (resolved when its alarms cleared or its anomaly ended); a
        re-run that fell short of the stored state keeps the stored incident."""
        if prior is not None and before(doc.state, prior.state):
            log.warning(
                "incident %s: re-run fell short of %s, kept as it was", doc.incident_id, prior.state
            )
            doc = prior.model_copy(update={"fingerprint": made_of})
        if inc.trigger == "kpi":
            doc = doc.model_copy(update={"last_anomaly_at": inc.group.end})
        doc = _stamped(doc, prior)
        if resolved(inc, alarms):
            self._save(doc, prior)
            prior = doc
            note = "all alarms cleared" if inc.trigger != "kpi" else "KPI anomaly ended"
            doc = transition(doc, IncidentState.RESOLVED, by="twinrca", note=note)
            doc = doc.model_copy(update={"cleared_at": cleared_at(inc, alarms)})
        self._save(doc, prior)
        return doc

    def _save(self, doc: IncidentDoc, prior: IncidentDoc | None) -> None:
        """Store ``doc``; alerts only when its state changed (a re-run sends nothing)."""
        changed = prior is None or prior.state != doc.state
        alerts = alerts_for(self.store, doc, base_url=self.base_url) if changed else []
        save_incident(self.store, doc, alerts=alerts)

    def _demand(self, kpis: pd.DataFrame) -> Demand | None:
        if kpis.empty or not (kpis["measurement"] == "dl_throughput_mbps").any():
            return None
        frame = kpis.rename(columns={"managed_object": "element_id", "period_end": "time"})
        return demand_from_telemetry(frame, self.topology)


def _stamped(doc: IncidentDoc, prior: IncidentDoc | None) -> IncidentDoc:
    """``doc`` with the prior history, plus an entry when its state is new."""
    history = list(prior.history) if prior is not None else []
    if prior is None or prior.state != doc.state:
        history.append({"state": str(doc.state), "at": utcnow().isoformat(), "by": "twinrca"})
    return doc.model_copy(update={"history": history})


def _newest(alarms: pd.DataFrame, kpis: pd.DataFrame) -> pd.Timestamp | None:
    """The newest event or reporting period of the run's frames (data time)."""
    times = [
        pd.to_datetime(f[c], utc=True).max()
        for f, c in ((alarms, "event_time"), (kpis, "period_end"))
        if len(f) and c in f.columns
    ]
    times = [t for t in times if pd.notna(t)]
    return max(times) if times else None
