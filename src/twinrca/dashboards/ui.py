"""Streamlit plumbing shared by the pages: configuration, the tenant's store, sign-in
(API key, or OIDC through ``st.login`` when configured) and the cached reads.

Every read goes through ``st.cache_data`` with a TTL, keyed by (backend, location,
tenant), so a rerun touches the database only when the cache expired or a page wrote.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from twinrca.core.topology import Topology
from twinrca.dashboards import data
from twinrca.dashboards.config import DashboardConfig
from twinrca.store.base import Store, open_store

__all__ = [
    "Ctx",
    "clear_incident_cache",
    "config",
    "element_states",
    "fmea_frames",
    "incident_doc",
    "incident_kpis",
    "incident_table",
    "ingest_metrics",
    "predictions",
    "require_tenant",
    "scenario_jobs",
    "topology",
    "twin_calibration",
]

log = logging.getLogger(__name__)

StoreKey = tuple[str, str, str]  # backend, location, tenant
_TTL = DashboardConfig.from_env().cache_ttl_s  # decorators need it at import time


def config() -> DashboardConfig:
    """The configuration, read from the environment at each call (cheap)."""
    return DashboardConfig.from_env()


@dataclass(frozen=True, slots=True)
class Ctx:
    """The signed-in tenant and where its data is."""

    cfg: DashboardConfig
    tenant: str

    @property
    def key(self) -> StoreKey:
        return (self.cfg.backend, self.cfg.location, self.tenant)

    def store(self) -> Store:
        return _store(self.key)


@st.cache_resource(show_spinner=False)
def _store(key: StoreKey) -> Store:
    backend, location, tenant = key
    if backend == "embedded":
        store = open_store("embedded", path=location, tenant=tenant)
        if store.schema_version() == 0:
            store.migrate()
        return store
    return open_store(backend, url=location, tenant=tenant)


# --- sign-in ------------------------------------------------------------------------------
def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, OSError):
        return False


def _tenant_from_key(cfg: DashboardConfig, key: str) -> str | None:
    from twinrca.runtime.auth import resolve_api_key

    system = _store((cfg.backend, cfg.location, cfg.system_tenant))
    return resolve_api_key(system, key.strip())


def _sign_in_with_key(cfg: DashboardConfig) -> str | None:
    with st.sidebar.form("sign_in", border=False):
        key = st.text_input("API key", type="password", placeholder="trca_…", key="api_key_input")
        submitted = st.form_submit_button("Sign in")
    if submitted and key:
        tenant = _tenant_from_key(cfg, key)
        if tenant is None:
            st.sidebar.error("Unknown or revoked API key.")
            return None
        st.session_state["tenant"] = tenant
        st.rerun()  # draw the page without the sign-in form
    return None


def _sign_in_oidc(cfg: DashboardConfig) -> str | None:
    if not st.user.is_logged_in:
        st.sidebar.button("Log in", on_click=st.login, type="primary")
        return None
    return str(st.user.get("tenant") or cfg.tenant)


def _sign_out() -> None:
    st.session_state.pop("tenant", None)
    if config().auth == "oidc" and _oidc_configured():
        st.logout()


def require_tenant() -> Ctx | None:
    """The signed-in tenant's context, or None (the sign-in form is shown)."""
    cfg = config()
    tenant = st.session_state.get("tenant")
    if tenant is None:
        if cfg.auth == "none":
            tenant = cfg.tenant
        elif cfg.auth == "oidc" and _oidc_configured():
            tenant = _sign_in_oidc(cfg)
        else:
            tenant = _sign_in_with_key(cfg)
    if tenant is None:
        st.info("Sign in with your API key (sidebar) to see your tenant's network.")
        return None
    with st.sidebar:
        st.caption(f"Tenant **{tenant}** · {cfg.backend} store")
        if cfg.auth != "none":
            st.button("Sign out", on_click=_sign_out, key="sign_out")
    return Ctx(cfg, tenant)


# --- cached reads -----------------------------------------------------------------------------
@st.cache_resource(ttl=300, show_spinner=False)
def topology(key: StoreKey) -> Topology | None:
    return _store(key).load_topology()


@st.cache_data(ttl=_TTL, show_spinner=False)
def incident_table(key: StoreKey) -> pd.DataFrame:
    return data.incidents_frame(_store(key).list_documents("incident", limit=1000))


@st.cache_data(ttl=_TTL, show_spinner=False)
def incident_doc(key: StoreKey, incident_id: str) -> dict[str, Any] | None:
    return _store(key).get_document("incident", incident_id)


@st.cache_data(ttl=_TTL, show_spinner=False)
def predictions(key: StoreKey) -> pd.DataFrame:
    return data.predictions_frame(_store(key).list_documents("prediction", limit=5000))


@st.cache_data(ttl=_TTL, show_spinner=False)
def element_states(key: StoreKey) -> pd.DataFrame:
    return data.element_frame(topology(key), incident_table(key), predictions(key))


@st.cache_data(ttl=_TTL, show_spinner=False)
def ingest_metrics(key: StoreKey, minutes: int = 60) -> dict[str, pd.DataFrame]:
    start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=minutes)
    store = _store(key)
    names = ("ingest_lag", "ingest_rows_per_s", "ingest_dead_letters")
    return {n: store.read_metrics(n, start=start)[["time", "value"]] for n in names}


@st.cache_data(ttl=_TTL, show_spinner=False)
def incident_kpis(key: StoreKey, incident_id: str, max_points: int) -> pd.DataFrame:
    doc = incident_doc(key, incident_id)
    if doc is None:
        return data.kpi_band(pd.DataFrame(), [], None)
    onset = pd.Timestamp(doc["opened_at"])
    kpis = _store(key).read_kpis(
        onset - pd.Timedelta(hours=12),
        onset + pd.Timedelta(hours=6),
        managed_objects=list(doc.get("elements") or [])[:12],
    )
    band = data.kpi_band(kpis, doc.get("anomalies") or [], onset)
    return data.downsample(
        band, "period_end", "value", max_points, by=("managed_object", "measurement")
    )


@st.cache_data(ttl=_TTL, show_spinner=False)
def fmea_frames(key: StoreKey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assessed FMEA table (current ratings) and the rating history."""
    from twinrca.fmea import RatingHistory, assess, assessed_frame, current_rows, sort_assessed

    history = RatingHistory.load(_store(key))
    table = assessed_frame(sort_assessed(assess(current_rows(history=history)), by="ap"))
    changes = pd.DataFrame(
        [{**c.to_doc(), "at": c.at} for c in history],
        columns=["at", "mode_id", "field", "old", "new", "reason", "source", "who", "seq"],
    )
    return table, changes.sort_values("at", ascending=False, ignore_index=True)


@st.cache_data(ttl=2, show_spinner=False)
def scenario_jobs(key: StoreKey) -> list[dict[str, Any]]:
    return _store(key).list_documents("scenario_job", limit=50)


@st.cache_data(ttl=_TTL, show_spinner=False)
def twin_calibration(key: StoreKey) -> tuple[dict[str, Any], pd.DataFrame]:
    """The calibration panel: summary of the current calibration, per-cell frame."""
    from twinrca.dashboards.twin_data import calibration_summary, twin_cells_frame

    store = _store(key)
    history = store.twin_calibration_history()
    doc = history[-1].doc if history else None
    latest = history[-1] if history else None
    summary = calibration_summary(
        doc, latest.version if latest else None, latest.recorded_at if latest else None
    )
    drift = store.list_documents("drift", limit=10_000)
    return summary, twin_cells_frame(doc, drift)


def clear_incident_cache() -> None:
    """After a write: the next rerun reads the incident documents again."""
    incident_doc.clear()
    incident_table.clear()
    element_states.clear()
