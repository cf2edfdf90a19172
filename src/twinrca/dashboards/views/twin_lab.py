"""Twin lab: the tenant's calibrated twin (calibration age, held-out error and drift
finding per cell); start a labelled scenario generation (runs in a background process),
watch its progress, download the dataset as a zip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from twinrca.core.errors import TwinRCAError
from twinrca.dashboards import ui
from twinrca.runtime import jobs

__all__ = ["page", "render"]


def page() -> None:
    ctx = ui.require_tenant()
    if ctx is not None:
        render(ctx)


def render(ctx: ui.Ctx) -> None:
    st.title("Twin lab")
    st.caption(
        "Generate a labelled scenario on the network twin: "
        "EMS-like streams, tables and fault labels."
    )
    _calibration(ctx)
    st.subheader("Scenarios")
    with st.form("scenario"):
        c1, c2, c3, c4 = st.columns(4)
        cells = c1.number_input("Cells", 10, 20_000, 100, step=10, key="lab_cells")
        days = c2.number_input("Days", 0.5, 30.0, 1.0, step=0.5, key="lab_days")
        faults = c3.number_input("Faults", 0, 1000, 10, key="lab_faults")
        seed = c4.number_input("Seed", 0, 2**31, 0, key="lab_seed")
        if st.form_submit_button("Generate", type="primary"):
            _submit(ctx, {"cells": cells, "days": days, "faults": faults, "seed": seed})
    _jobs(ctx)


def _calibration(ctx: ui.Ctx) -> None:
    st.subheader("Calibration")
    summary, cells = ui.twin_calibration(ctx.key)
    if not summary:
        st.caption("The twin is not calibrated to this network yet (it uses default cells).")
        return
    c1, c2, c3, c4 = st.columns(4)
    age = summary["age_h"]
    c1.metric("Version", summary["version"], help=f"reason: {summary['reason']}")
    c2.metric("Age", "?" if age is None else f"{age:.1f} h", help="since it was stored")
    c3.metric(
        "Held-out MAPE PRB",
        _pct(summary["mape_prb"]),
        help=f"seasonal naive {_pct(summary['naive_mape_prb'])}",
    )
    c4.metric(
        "Held-out MAPE thr",
        _pct(summary["mape_thr"]),
        help=f"seasonal naive {_pct(summary['naive_mape_thr'])}",
    )
    drifting = int((cells["drift"].str.startswith("open")).sum())
    st.caption(
        f"Fitted {summary['fit_start']} to {summary['fit_end']}, data to {summary['data_end']}. "
        f"{drifting} cell(s) drifting from the twin (out of band for "
        f"{summary['drift_k']} periods or more)."
    )
    st.dataframe(cells, hide_index=True, width="stretch")


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{x:.1f} %"


def _submit(ctx: ui.Ctx, request: dict[str, Any]) -> None:
    try:
        doc = jobs.submit(ctx.store(), ui.config().jobs_dir / ctx.tenant, request)
    except TwinRCAError as exc:
        st.error(str(exc))
        return
    ui.scenario_jobs.clear()
    st.toast(f"scenario job {doc['job_id']} started")


@st.fragment(run_every=2.0)
def _jobs(ctx: ui.Ctx) -> None:
    st.subheader("Jobs")
    docs = ui.scenario_jobs(ctx.key)
    if not docs:
        st.caption("No scenario generated yet.")
        return
    active = False
    for doc in docs[:10]:
        if doc.get("state") in ("queued", "running"):
            active = True
            doc = jobs.sync(ctx.store(), doc)
        _job_row(doc)
    if active:  # the runner moved on: read the documents again next time
        ui.scenario_jobs.clear()


def _job_row(doc: dict[str, Any]) -> None:
    req = doc.get("request") or {}
    c1, c2, c3 = st.columns([2, 4, 2], vertical_alignment="center")
    size = f"{req.get('cells')} cells · {req.get('days')} d · {req.get('faults')} faults"
    c1.markdown(f"`{doc['job_id']}` · {size}")
    state = doc.get("state", "queued")
    if state == "failed":
        c2.error(doc.get("error") or "failed")
    else:
        c2.progress(float(doc.get("progress") or 0.0), text=f"{state}: {doc.get('stage', '')}")
    zip_path = Path(doc.get("zip") or "")
    if state == "done" and zip_path.is_file():
        c3.download_button(
            "Download (zip)",
            data=zip_path.read_bytes,
            file_name=f"scenario-{doc['job_id']}.zip",
            mime="application/zip",
            key=f"dl_{doc['job_id']}",
            on_click="ignore",
        )
