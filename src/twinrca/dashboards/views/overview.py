"""Overview: the network map by state, open incidents, predicted risks, ingest health."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from twinrca.dashboards import charts, data, nav, ui

__all__ = ["page", "render"]

_REFRESH = ui.config().refresh_s


def page() -> None:
    ctx = ui.require_tenant()
    if ctx is not None:
        render(ctx)


def render(ctx: ui.Ctx) -> None:
    st.title("Network overview")
    _headline(ctx)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        _network_map(ctx)
    with right:
        _incidents_by_severity(ctx)
        _risks_by_horizon(ctx)
    _open_incidents(ctx)
    _ingest_health(ctx)


@st.fragment(run_every=_REFRESH)
def _headline(ctx: ui.Ctx) -> None:
    inc = ui.incident_table(ctx.key)
    preds = ui.predictions(ctx.key)
    health = data.ingest_health(ui.ingest_metrics(ctx.key))
    open_inc = inc[inc["state"].isin(data.OPEN_STATES)] if len(inc) else inc
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Open incidents", len(open_inc), border=True)
    c2.metric(
        "Critical",
        int((open_inc["severity"] == "CRITICAL").sum()) if len(open_inc) else 0,
        border=True,
    )
    c3.metric(
        "Elements at risk (p ≥ 0.5)",
        int(preds.loc[preds["probability"] >= 0.5, "element"].nunique()) if len(preds) else 0,
        border=True,
    )
    lag = health["lag_msgs"]
    c4.metric("Ingest lag", "–" if lag is None else f"{lag:,.0f} msgs", border=True)


@st.fragment(run_every=_REFRESH)
def _network_map(ctx: ui.Ctx) -> None:
    st.subheader("Sites and cells")
    elements = ui.element_states(ctx.key)
    if elements.empty:
        st.info("No topology stored yet for this tenant.")
        return
    rank = {s: i for i, s in enumerate(reversed(data.ELEMENT_STATES))}
    st.vega_lite_chart(
        elements.assign(rank=elements["state"].map(rank)), charts.network_map(), width="stretch"
    )
    counts = elements["state"].value_counts()
    st.caption(" · ".join(f"{s}: {int(counts.get(s, 0))}" for s in data.ELEMENT_STATES))


@st.fragment(run_every=_REFRESH)
def _incidents_by_severity(ctx: ui.Ctx) -> None:
    st.subheader("Open incidents by severity")
    counts = data.severity_counts(ui.incident_table(ctx.key))
    st.vega_lite_chart(counts, charts.severity_bars(), width="stretch")


@st.fragment(run_every=_REFRESH)
def _risks_by_horizon(ctx: ui.Ctx) -> None:
    st.subheader("Predicted risks by horizon")
    st.vega_lite_chart(
        data.risk_by_horizon(ui.predictions(ctx.key)),
        charts.bars("horizon", "risks"),
        width="stretch",
    )
    st.page_link(nav.page("predictions"), label="All predictions", icon=":material/arrow_forward:")


@st.fragment(run_every=_REFRESH)
def _open_incidents(ctx: ui.Ctx) -> None:
    st.subheader("Open incidents")
    inc = ui.incident_table(ctx.key)
    open_inc = inc[inc["state"].isin(data.OPEN_STATES)] if len(inc) else inc
    if open_inc.empty:
        st.success("No open incident.")
        return
    target = nav.page("incident")
    gravity = {s: i for i, s in enumerate(data.SEVERITIES)}
    open_inc = open_inc.assign(g=open_inc["severity"].map(gravity).fillna(len(gravity)))
    open_inc = open_inc.sort_values(["g", "opened_at"], ascending=[True, False])
    for row in open_inc.head(12).itertuples(index=False):
        c1, c2, c3, c4 = st.columns([2, 1, 1, 4], vertical_alignment="center")
        c1.page_link(
            target,
            label=row.incident_id,
            query_params={"id": row.incident_id},
            icon=":material/open_in_new:",
        )
        c2.markdown(f"**{row.severity}**")
        c3.markdown(row.state + (" · KPI" if getattr(row, "trigger", "") == "kpi" else ""))
        c4.markdown(
            f"{row.top_cause or 'not diagnosed yet'}"
            + ("" if pd.isna(row.probability) else f" · p={row.probability:.2f}")
        )


@st.fragment(run_every=_REFRESH)
def _ingest_health(ctx: ui.Ctx) -> None:
    st.subheader("Ingest health (last hour)")
    metrics = ui.ingest_metrics(ctx.key)
    health = data.ingest_health(metrics)
    cols = st.columns(3)
    titles = {
        "ingest_lag": "lag (messages)",
        "ingest_rows_per_s": "rows / s",
        "ingest_dead_letters": "dead letters / min",
    }
    for col, (name, title) in zip(cols, titles.items(), strict=True):
        with col:
            frame = data.downsample(metrics[name], "time", "value", ui.config().max_points)
            if frame.empty:
                st.caption(f"{title}: no data")
            else:
                st.vega_lite_chart(
                    frame, charts.lines("time", "value", title=title), width="stretch"
                )
    dead = health["dead_letters"]
    st.caption(f"dead letters in the last hour: {0 if dead is None else int(dead)}")
