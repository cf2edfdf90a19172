"""Predictions: risk per element and horizon, with the explanation of each warning."""

from __future__ import annotations

import streamlit as st

from twinrca.dashboards import charts, data, ui

__all__ = ["page", "render"]

_REFRESH = ui.config().refresh_s


def page() -> None:
    ctx = ui.require_tenant()
    if ctx is not None:
        render(ctx)


def render(ctx: ui.Ctx) -> None:
    st.title("Predicted faults")
    preds = ui.predictions(ctx.key)
    if preds.empty:
        st.info("No prediction stored yet.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    buckets = [b[2] for b in data.HORIZON_BUCKETS]
    chosen = c1.multiselect("Horizons", buckets, default=buckets, key="pred_horizons")
    kinds = sorted({e.split(":", 1)[0] for e in preds["element"].dropna()})
    kind = c2.multiselect("Element kinds", kinds, default=kinds, key="pred_kinds")
    floor = c3.slider("Min probability", 0.0, 1.0, 0.2, 0.05, key="pred_floor")
    _panel(ctx, tuple(chosen), tuple(kind), floor)


@st.fragment(run_every=_REFRESH)
def _panel(ctx: ui.Ctx, horizons: tuple[str, ...], kinds: tuple[str, ...], floor: float) -> None:
    preds = ui.predictions(ctx.key)
    preds = preds.assign(horizon=preds["horizon_min"].map(data.horizon_bucket))
    part = preds[
        preds["horizon"].isin(horizons)
        & preds["element"].str.split(":").str[0].isin(kinds)
        & (preds["probability"] >= floor)
    ]
    st.caption(f"{len(part)} of {len(preds)} warnings shown")
    if part.empty:
        return
    top = (
        part.sort_values("probability", ascending=False)
        .drop_duplicates(["element", "horizon"])
        .head(60)
    )
    left, right = st.columns([2, 3])
    with left:
        st.vega_lite_chart(
            top,
            charts.risk_heatmap(height=max(160, 18 * top["element"].nunique())),
            width="stretch",
        )
    with right:
        st.dataframe(
            part[
                [
                    "element",
                    "failure_mode",
                    "horizon_min",
                    "probability",
                    "start",
                    "end",
                    "explanation",
                ]
            ],
            hide_index=True,
            column_config={
                "probability": st.column_config.ProgressColumn(
                    "probability", min_value=0.0, max_value=1.0, format="%.2f"
                ),
                "horizon_min": st.column_config.NumberColumn("horizon (min)", format="%d"),
                "explanation": st.column_config.TextColumn("why", width="large"),
            },
        )
