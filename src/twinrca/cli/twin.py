"""``twinrca twin``: generate labelled scenarios, calibrate the twin."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from twinrca.cli.options import ranged

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def generate(
    cells: int = ranged(1000, 10, 20000, "number of cells"),
    days: float = ranged(7.0, 0.25, 366.0, "days of simulated time"),
    faults: int = ranged(50, 0, 10000, "faults to plant; fewer may fit a small network"),
    seed: int = ranged(0, 0, 2**32 - 1, "random seed (same seed, same output)"),
    out: Path = typer.Option(..., help="output folder", file_okay=False),
    step_minutes: int = ranged(15, 1, 60, "reporting period in minutes"),
    pm_xml: bool = typer.Option(False, "--pm-xml", help="also write TS 32.435 XML per period"),
    inventory: Path | None = typer.Option(
        None, help="CSV or JSON inventory instead of a generated network"
    ),
    engine: str = typer.Option("numba", help="numba or numpy"),
    dask: str | None = typer.Option(
        None,
        "--dask",
        help="Dask scheduler for the batch pieces: tcp://host:8786, or 'sync' for this "
        "process only (default: TWINRCA_DASK__SCHEDULER, else a local cluster when the "
        "job is large enough to gain from one)",
    ),
) -> None:
    """Write EMS-like streams, Parquet tables and labels of a generated scenario."""
    from twinrca.core.settings import load_settings
    from twinrca.runtime.dask_pool import batch_map
    from twinrca.twin_replay.generate import generate_scenario
    from twinrca.twin_replay.inventory import load_inventory

    topo = load_inventory(inventory) if inventory else None
    with batch_map(dask, settings=load_settings().dask) as mapper:
        summary = generate_scenario(
            out,
            cells=cells,
            days=days,
            faults=faults,
            seed=seed,
            step_minutes=step_minutes,
            pm_xml=pm_xml,
            topology=topo,
            engine=engine,
            strict_faults=True,
            mapper=mapper,
        )
    typer.echo(
        json.dumps(
            {
                "out": str(summary.out),
                "cells": summary.cells,
                "elements": summary.elements,
                "steps": summary.steps,
                "faults": summary.faults,
                "kpi_messages": summary.kpi_messages,
                "alarm_messages": summary.alarm_messages,
                "log_messages": summary.log_messages,
                "ingest": f"twinrca ingest files {summary.out / 'streams'}",
            }
        )
    )


@app.command()
def calibrate(
    scenario: Path = typer.Option(
        ..., help="a folder written by `twin generate` (tables/kpis.parquet)"
    ),
    holdout_days: float = ranged(1.0, 0.01, 365.0, "last days kept out of the fit"),
) -> None:
    """Fit per-cell capacity, demand scale and sensitivity; print held-out errors."""
    import pandas as pd

    from twinrca.core.topology import Topology
    from twinrca.twin_replay.calibrate import calibrate_from_frame

    topo = Topology.from_json(scenario / "topology.json")
    kpis = pd.read_parquet(scenario / "tables" / "kpis.parquet")
    report = calibrate_from_frame(topo, kpis, holdout_days=holdout_days)
    typer.echo(json.dumps(report.metrics))


@app.command("vendor-formats")
def vendor_formats(
    scenario: Path = typer.Argument(..., help="A folder written by `twinrca twin generate`."),
    out: Path = typer.Option(..., "--out", help="Folder for the vendor-format recording."),
) -> None:
    """Write a generated scenario as an operator's recording would be: TS 32.435 PM files
    with TS 28.552 counters, VES and 3GPP alarms, a DN-named topology."""
    from twinrca.core.errors import ValidationError
    from twinrca.ingest.vendorscenario import write_vendor_scenario

    if not (scenario / "topology.json").is_file():
        raise ValidationError("missing_file", f"SCENARIO {scenario}: no topology.json in it")
    counts = write_vendor_scenario(scenario, out)
    typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()) + f" written to {out}")
