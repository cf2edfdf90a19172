"""``twinrca kpis``: which stored counters no KPI mapping reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twinrca.cli.options import ranged

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def unmapped(
    kpi_mapping: Annotated[
        list[Path] | None,
        typer.Option("--kpi-mapping", help="Your vendor mapping TOML files (repeatable)."),
    ] = None,
    top: int = ranged(50, 1, 1_000_000, "how many counters to list"),
) -> None:
    """List the stored counters no KPI reads, most frequent first."""
    from twinrca.cli.store import _open
    from twinrca.core.settings import load_settings
    from twinrca.ingest.kpimap import load_mapping
    from twinrca.twin_replay.simulate import KPI_NAMES

    mapping = load_mapping(kpi_mapping or [])
    inputs = mapping.inputs
    with _open(load_settings()) as store:
        counts = store.read_kpis()["measurement"].value_counts()
    rows = [
        (name, int(n))
        for name, n in counts.items()
        if not mapping.is_mapped(mapping.standard_name(str(name)), inputs)
        and name not in KPI_NAMES
        and not str(name).endswith((".count", ".mean"))
    ]
    typer.echo(f"{len(rows)} unmapped counters ({sum(n for _, n in rows)} values)")
    for name, n in rows[:top]:
        typer.echo(f"{n:>10}  {name}")
