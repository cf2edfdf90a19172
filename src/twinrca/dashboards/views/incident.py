"""One incident: lifecycle, ranked causes with evidence, alarms and KPIs, the causal
subgraph, the twin replay of each candidate, remediation what-ifs, and feedback."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from twinrca.core.errors import TwinRCAError
from twinrca.core.records import IncidentState
from twinrca.dashboards import actions, charts, data, ui
from twinrca.dashboards.explain_view import render_explain

__all__ = ["page", "render"]

_REFRESH = ui.config().refresh_s
_PROBABILITY = st.column_config.ProgressColumn(
    "probability", min_value=0.0, max_value=1.0, format="%.2f"
)


def page() -> None:
    ctx = ui.require_tenant()
    if ctx is not None:
        render(ctx)


def _choose(ctx: ui.Ctx) -> str | None:
    table = ui.incident_table(ctx.key)
    if table.empty:
        st.info("No incident stored yet.")
        return None
    ids = table["incident_id"].tolist()
    wanted = st.query_params.get("id")
    labels = {
        r.incident_id: f"{r.incident_id} · {r.state} · {r.severity} · {r.root_element or ''}"
        for r in table.itertuples(index=False)
    }
    chosen = st.selectbox(
        "Incident",
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=labels.__getitem__,
    )
    if chosen != wanted:
        st.query_params["id"] = chosen
    return chosen


def render(ctx: ui.Ctx) -> None:
    st.title("Incident")
    incident_id = _choose(ctx)
    if incident_id is None:
        return
    _lifecycle(ctx, incident_id)
    doc = ui.incident_doc(ctx.key, incident_id)
    if doc is None:
        st.error(f"Incident {incident_id} is not stored for tenant {ctx.tenant}.")
        return
    causes, signals, replay, remedy, history = st.tabs(
        [
            "Ranked causes",
            "Alarms and KPIs",
            "Twin replay",
            "Remediation what-if",
            "History and feedback",
        ]
    )
    with causes:
        _causes(ctx, doc)
    with signals:
        _signals(ctx, doc)
    with replay:
        _replay(doc)
    with remedy:
        _remediation(doc)
    with history:
        _history(ctx, doc)


@st.fragment(run_every=_REFRESH)
def _lifecycle(ctx: ui.Ctx, incident_id: str) -> None:
    doc = ui.incident_doc(ctx.key, incident_id)
    if doc is None:
        return
    state = IncidentState(doc["state"])
    info, c5, c6 = st.columns([6, 1, 1], vertical_alignment="center")
    opened = pd.Timestamp(doc["opened_at"]).strftime("%d %b %H:%M UTC")
    info.markdown(
        f"State **:blue-badge[{state}]** · severity **{doc.get('severity', '')}** · "
        f"opened {opened} · root element **{doc.get('root_element') or '–'}**"
    )
    if doc.get("trigger") == "kpi":
        info.caption(
            "Silent fault: opened from KPI anomalies sustained with no alarm "
            "(alarms lost by the EMS, or a fault that raises none)."
        )
    done = state is IncidentState.RESOLVED
    if c5.button("Acknowledge", disabled=done or state is IncidentState.ACKNOWLEDGED, key="ack"):
        _move(ctx, incident_id, IncidentState.ACKNOWLEDGED)
    if c6.button("Resolve", disabled=done, type="primary", key="resolve"):
        _move(ctx, incident_id, IncidentState.RESOLVED)


def _who(ctx: ui.Ctx) -> str:
    return f"dashboard:{ctx.tenant}"


def _move(ctx: ui.Ctx, incident_id: str, state: IncidentState) -> None:
    try:
        actions.move_incident(ctx.store(), incident_id, state, by=_who(ctx))
    except TwinRCAError as exc:
        st.error(str(exc))
        return
    ui.clear_incident_cache()
    st.toast(f"{incident_id} {state}")
    st.rerun()


def _causes(ctx: ui.Ctx, doc: dict[str, Any]) -> None:
    cands = data.candidates_frame(doc)
    if cands.empty:
        st.info("Not diagnosed yet: no candidate root cause.")
    else:
        st.dataframe(
            cands,
            hide_index=True,
            column_config={
                "probability": _PROBABILITY,
                "twin_score": st.column_config.NumberColumn("twin score", format="%.2f"),
            },
        )
        by_key = {f"{c['element']}|{c['failure_mode']}": c for c in doc.get("candidates") or []}
        for r in cands.itertuples(index=False):
            c = by_key[f"{r.element}|{r.failure_mode}"]
            with st.expander(f"#{r.rank} {r.element} · {r.failure_mode} — evidence and FMEA entry"):
                left, right = st.columns(2)
                left.json(c.get("evidence") or {}, expanded=True)
                right.json(c.get("fmea") or {}, expanded=False)
    st.subheader("Causal subgraph")
    st.graphviz_chart(data.causal_dot(doc, ui.topology(ctx.key)), width="stretch")
    render_explain(ctx.store(), doc)


def _signals(ctx: ui.Ctx, doc: dict[str, Any]) -> None:
    st.subheader("Alarm timeline (root and children)")
    alarms = data.alarm_timeline(doc)
    if alarms.empty:
        st.caption("No alarm attached.")
    else:
        st.vega_lite_chart(alarms, charts.timeline(), width="stretch")
    st.subheader("KPIs with their normal band")
    band = ui.incident_kpis(ctx.key, doc["incident_id"], ui.config().max_points)
    if band.empty:
        st.caption("No KPI rows stored for these elements around the incident.")
        return
    flagged = band.groupby("managed_object")["anomalous"].sum().sort_values(ascending=False)
    element = st.selectbox("Element", flagged.index.tolist(), key="kpi_element")
    part = band[band["managed_object"] == element]
    kpis = sorted(part["measurement"].unique())
    for col, kpi in zip(st.columns(min(3, len(kpis))), kpis[:3], strict=False):
        with col:
            st.vega_lite_chart(
                part[part["measurement"] == kpi], charts.kpi_band(kpi), width="stretch"
            )


def _replay(doc: dict[str, Any]) -> None:
    ver = doc.get("verification") or {}
    if not ver:
        st.info("Not verified on the twin yet.")
        return
    keys = sorted(ver, key=lambda k: -(ver[k].get("score") or 0.0))
    key = st.selectbox(
        "Candidate",
        keys,
        format_func=lambda k: f"{k.replace('|', ' · ')} (score {ver[k].get('score') or 0:.2f})",
    )
    frame = data.verification_frame(ver[key], max_points=ui.config().max_points)
    st.caption(
        "Observed KPIs against the twin replaying the incident window with this cause injected."
    )
    kpis = sorted(frame["kpi"].unique())
    for col, kpi in zip(st.columns(min(3, max(1, len(kpis)))), kpis[:3], strict=False):
        with col:
            st.vega_lite_chart(frame[frame["kpi"] == kpi], charts.replay(kpi), width="stretch")


def _remediation(doc: dict[str, Any]) -> None:
    rem = data.remediation_frame(doc)
    if rem.empty:
        st.info("No remediation evaluated yet.")
        return
    st.caption("Twin what-if: probability that the service recovers, with its interval.")
    st.vega_lite_chart(rem, charts.remediation_intervals(), width="stretch")
    st.dataframe(rem, hide_index=True, column_config={"expected_recovery": _PROBABILITY})


def _history(ctx: ui.Ctx, doc: dict[str, Any]) -> None:
    hist = pd.DataFrame(doc.get("history") or [], columns=["at", "state", "by", "note"])
    st.dataframe(hist, hide_index=True)
    fb = doc.get("feedback")
    if fb:
        cause = f"{fb.get('true_element')} · {fb.get('true_failure_mode')}"
        st.success(f"Real cause recorded: {cause} — {fb.get('comment', '')}")
    _feedback_form(ctx, doc)


def _feedback_form(ctx: ui.Ctx, doc: dict[str, Any]) -> None:
    from twinrca.fmea import load_catalogue

    modes = [m.id for m in load_catalogue()]
    cands = doc.get("candidates") or []
    top = cands[0] if cands else {}
    elements = list(dict.fromkeys([*(c["element"] for c in cands), *(doc.get("elements") or [])]))
    with st.form("feedback"):
        st.markdown("**What was the real cause?**")
        element = st.selectbox("Element", elements or [""], key="fb_element")
        mode = st.selectbox(
            "Failure mode",
            modes,
            index=modes.index(top["failure_mode"]) if top.get("failure_mode") in modes else 0,
            key="fb_mode",
        )
        comment = st.text_input("Comment", key="fb_comment")
        if st.form_submit_button("Send feedback"):
            try:
                actions.give_feedback(
                    ctx.store(),
                    doc["incident_id"],
                    true_element=element,
                    true_failure_mode=mode,
                    comment=comment,
                )
            except TwinRCAError as exc:
                st.error(str(exc))
                return
            ui.clear_incident_cache()
            st.toast("Feedback recorded")
            st.rerun()
