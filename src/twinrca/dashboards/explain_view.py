"""Incident page section: pick a KPI symptom, see the upstream ranking and its path
(:func:`twinrca.runtime.explain.explain_incident`, the same as the API's
``/v1/incidents/{id}/explain``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from twinrca.core.errors import TwinRCAError
from twinrca.core.incident import IncidentDoc
from twinrca.runtime.explain import explain_incident

__all__ = ["kpi_choices", "render_explain"]


def kpi_choices(doc: dict[str, Any]) -> list[str]:
    """The KPIs anomalous in the incident, most anomalous first."""
    best: dict[str, float] = {}
    for a in doc.get("anomalies") or []:
        name = str(a.get("measurement") or "")
        if name:
            best[name] = max(best.get(name, 0.0), abs(float(a.get("z") or 0.0)))
    return sorted(best, key=lambda k: (-best[k], k))


def render_explain(store: Any, doc: dict[str, Any]) -> None:
    """The KPI picker, the upstream ranking table and the path of the top element."""
    st.subheader("Explain from a KPI symptom")
    choices = kpi_choices(doc)
    if not choices:
        st.caption("No KPI anomaly attached to this incident to start from.")
        return
    kpi = st.selectbox("KPI symptom", choices, key="explain_kpi")
    try:
        result = explain_incident(store, IncidentDoc.model_validate(doc), kpi)
    except TwinRCAError as exc:
        st.caption(f"Cannot explain from {kpi}: {exc}")
        return
    symptom = result["symptom"]
    st.caption(
        f"Upstream of **{symptom['kpi']}** on **{symptom['element']}** (method {result['method']})"
    )
    table = pd.DataFrame(
        [
            {
                "rank": i + 1,
                "element": r["element"],
                "score": r["score"],
                "path": " → ".join(r["path"]),
            }
            for i, r in enumerate(result["ranking"])
        ]
    )
    st.dataframe(table, hide_index=True)
    if result["path"]:
        st.markdown("Path: " + " → ".join(f"`{p}`" for p in result["path"]))
    if result["unscored"]:
        st.caption(
            "Not scored: " + ", ".join(f"{u['metric']} ({u['reason']})" for u in result["unscored"])
        )
