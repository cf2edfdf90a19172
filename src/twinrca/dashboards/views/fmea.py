"""FMEA: RPN, Action Priority and criticality side by side, editable S/O/D with the
history of every rating change."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from twinrca.core.errors import TwinRCAError
from twinrca.dashboards import actions, ui

__all__ = ["page", "render"]

_RATING = {
    f: st.column_config.NumberColumn(f, min_value=1, max_value=10, step=1, required=True)
    for f in ("severity", "occurrence", "detection")
}
_SHOWN = [
    "mode_id",
    "name",
    "element_kind",
    "severity",
    "occurrence",
    "detection",
    "rpn",
    "ap",
    "criticality",
    "ap_reason",
]
_ZONE_COLOURS = {"L": "#b7e1a1", "M": "#ffd966", "H": "#f4a09c"}


def page() -> None:
    ctx = ui.require_tenant()
    if ctx is not None:
        render(ctx)


def render(ctx: ui.Ctx) -> None:
    st.title("FMEA")
    table, history = ui.fmea_frames(ctx.key)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        _editor(ctx, table)
    with right:
        st.subheader("Criticality matrix")
        st.vega_lite_chart(_matrix_frame(table), _matrix_spec(), width="stretch")
    st.subheader("Rating history")
    mode = st.selectbox("Failure mode", ["all", *table["mode_id"]], key="fmea_history_mode")
    shown = history if mode == "all" else history[history["mode_id"] == mode]
    st.dataframe(shown, hide_index=True)


def _editor(ctx: ui.Ctx, table: pd.DataFrame) -> None:
    st.caption(
        "Edit severity, occurrence or detection, give a reason, then save: every change is kept."
    )
    st.data_editor(
        table[_SHOWN],
        hide_index=True,
        key="fmea_editor",
        disabled=[c for c in _SHOWN if c not in _RATING],
        column_config={
            **_RATING,
            "ap_reason": st.column_config.TextColumn("AP reason", width="large"),
        },
    )
    with st.form("fmea_save", border=False):
        reason = st.text_input("Reason for the change", key="fmea_reason")
        if st.form_submit_button("Save ratings", type="primary"):
            _save(ctx, _edits(table), reason)


def _edits(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """The cells the person changed (by failure mode), from the editor's state."""
    state = st.session_state.get("fmea_editor") or {}
    modes = table["mode_id"].tolist()
    return {
        modes[int(i)]: {k: int(v) for k, v in cells.items() if k in _RATING and v is not None}
        for i, cells in (state.get("edited_rows") or {}).items()
    }


def _save(ctx: ui.Ctx, edits: dict[str, dict[str, int]], reason: str) -> None:
    try:
        changes = actions.save_ratings(
            ctx.store(), edits, who=f"dashboard:{ctx.tenant}", reason=reason
        )
    except TwinRCAError as exc:
        st.error(str(exc))
        return
    ui.fmea_frames.clear()
    st.toast(f"{len(changes)} rating change(s) saved")
    st.rerun()


def _matrix_frame(table: pd.DataFrame) -> pd.DataFrame:
    from twinrca.fmea import CriticalityMatrix

    zones = CriticalityMatrix.default().zones
    counts = table.groupby(["severity", "occurrence"])["mode_id"].agg(
        lambda s: ", ".join(m.removeprefix("FM-") for m in s)
    )
    rows = [
        {
            "severity": s,
            "occurrence": o,
            "zone": zones[(s, o)].value,
            "modes": counts.get((s, o), ""),
        }
        for s in range(1, 11)
        for o in range(1, 11)
    ]
    return pd.DataFrame(rows)


def _matrix_spec() -> dict[str, object]:
    axis = {"type": "ordinal", "sort": "ascending"}
    return {
        "height": 380,
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white"},
                "encoding": {
                    "x": {"field": "occurrence", **axis},
                    "y": {"field": "severity", **axis, "sort": "descending"},
                    "color": {
                        "field": "zone",
                        "type": "nominal",
                        "scale": {
                            "domain": list(_ZONE_COLOURS),
                            "range": list(_ZONE_COLOURS.values()),
                        },
                    },
                    "tooltip": [
                        {"field": "severity"},
                        {"field": "occurrence"},
                        {"field": "zone"},
                        {"field": "modes"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "fontSize": 8, "limit": 60},
                "encoding": {
                    "x": {"field": "occurrence", **axis},
                    "y": {"field": "severity", **axis, "sort": "descending"},
                    "text": {"field": "modes"},
                },
            },
        ],
    }
