"""Silences: the tenant's maintenance windows; create one, list them, expire one. An
incident a silence covers is kept and shown (state ``silenced``) but does not page."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from twinrca.core.errors import TwinRCAError
from twinrca.dashboards import ui
from twinrca.detect.silences import Silence
from twinrca.runtime import silences

__all__ = ["page", "render"]

_COLUMNS = ["silence_id", "elements", "regions", "failure_modes", "starts_at", "ends_at"]


def page() -> None:
    ctx = ui.require_tenant()
    if ctx is not None:
        render(ctx)


def render(ctx: ui.Ctx) -> None:
    st.title("Silences")
    st.caption(
        "Alarms of an incident a silence covers (its root element or what that element "
        "feeds, its region, its failure mode: every matcher given must hold) do not page; "
        "the incident is kept as *silenced*."
    )
    _create(ctx)
    _listing(ctx)


def _frame(items: list[Silence]) -> pd.DataFrame:
    rows = [
        {
            **{k: getattr(s, k) for k in _COLUMNS},
            "elements": ", ".join(s.elements),
            "regions": ", ".join(s.regions),
            "failure_modes": ", ".join(s.failure_modes),
            "by": s.created_by,
            "comment": s.comment,
        }
        for s in items
    ]
    return pd.DataFrame(rows, columns=[*_COLUMNS, "by", "comment"])


def _create(ctx: ui.Ctx) -> None:
    with st.form("silence_new"):
        st.subheader("New silence")
        c1, c2, c3 = st.columns(3)
        elements = c1.text_input("Elements (comma separated)", key="sil_elements")
        regions = c2.text_input("Regions", key="sil_regions")
        modes = c3.text_input("Failure modes", key="sil_modes")
        hours = st.number_input("Duration (hours)", 0.25, 24.0 * 366, 2.0, key="sil_hours")
        comment = st.text_input("Comment", key="sil_comment")
        if st.form_submit_button("Create silence", type="primary"):
            try:
                made = silences.create_silence(
                    ctx.store(),
                    elements=_split(elements),
                    regions=_split(regions),
                    failure_modes=_split(modes),
                    duration=timedelta(hours=float(hours)),
                    created_by=f"dashboard:{ctx.tenant}",
                    comment=comment,
                )
            except TwinRCAError as exc:
                st.error(str(exc))
                return
            st.toast(f"silence {made.silence_id} created")


def _listing(ctx: ui.Ctx) -> None:
    st.subheader("Active silences")
    active = silences.list_silences(ctx.store())
    if not active:
        st.info("No active silence.")
        return
    st.dataframe(_frame(active), hide_index=True, use_container_width=True)
    pick = st.selectbox("Silence", [s.silence_id for s in active], key="sil_pick")
    if st.button("Expire now", key="sil_expire") and pick:
        silences.expire_silence(ctx.store(), pick)
        st.toast(f"silence {pick} expired")
        st.rerun()


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]
