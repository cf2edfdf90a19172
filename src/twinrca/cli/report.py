"""Terminal report of incidents (rich table), with the planted truth when known."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from twinrca.core.incident import IncidentDoc

__all__ = ["print_incidents", "print_predictions"]


def print_incidents(
    console: Console, incidents: list[IncidentDoc], labels: pd.DataFrame | None = None
) -> None:
    truth = {}
    if labels is not None and len(labels):
        for r in labels.itertuples(index=False):
            truth[r.root_element] = r.mode_id
    table = Table(title="Incidents: root cause and recommended remediation", show_lines=False)
    for col in (
        "incident",
        "opened",
        "alarms",
        "root cause (element / failure mode)",
        "p",
        "twin",
        "recommendation (expected service, 10-90%)",
        "state",
        "truth",
    ):
        table.add_column(col, overflow="fold")
    for d in sorted(incidents, key=lambda x: x.opened_at):
        top = d.candidates[0] if d.candidates else None
        rec = d.remediations[0] if d.remediations else None
        rec_text = "-"
        if rec is not None:
            iv = rec.recovery_interval
            rec_text = (
                f"{rec.action} ({rec.expected_recovery:.0%}"
                if rec.expected_recovery is not None
                else rec.action
            )
            if iv:
                rec_text += f", {iv[0]:.0%}-{iv[1]:.0%}"
            rec_text += ")" if rec.expected_recovery is not None else ""
            if rec.time_to_recover_min is not None:
                rec_text += f", ~{rec.time_to_recover_min:.0f} min"
        mark = ""
        if top is not None and truth:
            if truth.get(top.element) == top.failure_mode:
                mark = "[green]planted[/green]"
            elif top.element in truth:
                mark = f"[yellow]mode was {truth[top.element]}[/yellow]"
            else:
                mark = "[dim]no planted fault here[/dim]"
        table.add_row(
            d.incident_id,
            d.opened_at.strftime("%m-%d %H:%M"),
            str(len(d.alarms)),
            f"{top.element} / {top.failure_mode}" if top else "-",
            f"{top.probability:.2f}" if top else "-",
            f"{top.verified_score:.2f}" if top and top.verified_score is not None else "-",
            rec_text,
            str(d.state),
            mark,
        )
    console.print(table)


def print_predictions(console: Console, docs: list[dict], top: int = 12) -> None:
    """The most confident fault predictions with their reasons (newest model output)."""
    if not docs:
        console.print("no fault predictions above the model's threshold")
        return
    table = Table(title=f"Fault predictions (top {min(top, len(docs))} of {len(docs)})")
    for col in ("element", "failure mode", "window (UTC)", "p", "warnings", "because"):
        table.add_column(col, overflow="fold")
    for d in sorted(docs, key=lambda x: -float(x["probability"]))[:top]:
        lo, hi = pd.Timestamp(d["window_start"]), pd.Timestamp(d["window_end"])
        reasons = "; ".join(str(r.get("text") or r.get("feature")) for r in d["explanation"][:2])
        table.add_row(
            d["element"],
            d["failure_mode"],
            f"{lo:%m-%d %H:%M}-{hi:%H:%M}",
            f"{float(d['probability']):.2f}",
            str(d.get("warnings", 1)),
            reasons,
        )
    console.print(table)
