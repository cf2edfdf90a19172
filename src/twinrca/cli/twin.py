"""``twinrca twin``: generate labelled scenarios, calibrate the twin."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from twinrca.cli.options import output_folder, ranged

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
    scenario: Path | None = typer.Option(
        None, help="a folder written by `twin generate` (tables/kpis.parquet)"
    ),
    csv: Path | None = typer.Option(None, "--csv", help="a CSV export of cell KPIs"),
    mapping: str | None = typer.Option(
        None,
        "--map",
        help="CSV columns: cell=CellName,time=Timestamp,prb_dl=PRBUsageDL,thr_dl=..."
        " (keys: cell, time, prb_dl, thr_dl, availability, drop)",
    ),
    start: str | None = typer.Option(None, "--from", help="store: start time (RFC 3339)"),
    end: str | None = typer.Option(None, "--to", help="store: end time (RFC 3339)"),
) -> None:
    """Fit the twin's cells to observed KPIs; print held-out errors beside the
    seasonal-naive forecast (same slot yesterday / last week). Without --scenario or
    --csv: the store of the current settings (--from/--to)."""
    from twinrca.twin_replay.calibration import calibrate_kpis

    if scenario is not None and csv is not None:
        from twinrca.core.errors import ValidationError

        raise ValidationError("bad_options", "give --scenario or --csv, not both")
    if scenario is not None:
        import pandas as pd

        from twinrca.core.errors import ValidationError
        from twinrca.core.topology import Topology

        topo = Topology.from_json(scenario / "topology.json")
        tables = scenario / "tables" / "kpis.parquet"
        try:
            kpis = pd.read_parquet(tables)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise ValidationError(
                "unreadable_file", f"--scenario {scenario}: cannot read {tables}: {exc}"
            ) from exc
        cal = calibrate_kpis(kpis, topo)
    elif csv is not None:
        cal = calibrate_kpis(_csv_frame(csv, mapping))
    else:
        cal = _from_store(start, end)
    typer.echo(
        json.dumps(
            {
                "cells": len(cal.cells),
                "fit_start": cal.fit_start.isoformat(),
                "fit_end": cal.fit_end.isoformat(),
                **cal.heldout,
            }
        )
    )


def _csv_frame(path: Path, mapping: str | None):
    """The CSV's rows as the wide KPI frame calibration takes (``--map`` renames)."""
    import pandas as pd

    from twinrca.core.errors import ValidationError
    from twinrca.twin_replay.calibration import KPI_FIELDS

    if not path.exists():
        raise ValidationError("no_file", f"{path}: no such file")
    names = {"cell": "element_id", "time": "time", **KPI_FIELDS}
    pairs = [p.split("=", 1) for p in (mapping or "").split(",") if p.strip()]
    bad = [p for p in pairs if len(p) != 2 or p[0].strip() not in names]
    if bad:
        raise ValidationError(
            "bad_map", f"--map entries {bad}: use KEY=COLUMN with keys {sorted(names)}"
        )
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("unreadable_file", f"--csv {path}: cannot read: {exc}") from None
    rename = {col.strip(): names[key.strip()] for key, col in pairs}
    missing = [c for c in rename if c not in frame.columns]
    if missing:
        raise ValidationError("bad_map", f"{path} has no columns {missing}")
    frame = frame.rename(columns=rename)
    try:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValidationError(
            "bad_time", f"{path}: the time column needs dates and times ({exc})"
        ) from None
    return frame


def _from_store(start: str | None, end: str | None):
    import pandas as pd

    from twinrca.cli.stores import settings_store
    from twinrca.core.errors import ValidationError
    from twinrca.twin_replay.calibration import KPI_FIELDS, calibrate_kpis

    def when(text: str | None):
        if text is None:
            return None
        try:
            ts = pd.Timestamp(text)
        except ValueError:
            raise ValidationError("bad_time", f"{text!r}: not a time") from None
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts

    with settings_store() as store:
        topo = store.load_topology()
        kpis = store.read_kpis(when(start), when(end), measurements=list(KPI_FIELDS.values()))
    if kpis.empty:
        raise ValidationError("no_data", "the store holds no cell KPIs in that window")
    return calibrate_kpis(kpis, topo)


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
    output_folder(out, "--out")
    counts = write_vendor_scenario(scenario, out)
    typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()) + f" written to {out}")
