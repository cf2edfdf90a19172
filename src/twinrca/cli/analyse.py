"""``twinrca analyse FOLDER --topology T.json``: the pipeline on a user's recording."""

from __future__ import annotations

from pathlib import Path

import typer

from twinrca.cli.options import output_folder, ranged

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    def analyse(
        folder: Path = typer.Argument(..., help="PM files, alarms (3GPP JSON, VES), logs."),
        topology: Path = typer.Option(..., "--topology", help="Topology JSON (DNs allowed)."),
        out: Path = typer.Option(Path("var/analyse"), "--out", help="Results folder."),
        kpi_mapping: list[Path] = typer.Option(
            [], "--kpi-mapping", help="Your vendor's counter mapping (TOML, repeatable)."
        ),
        seed: int = ranged(0, 0, 2**32 - 1, "seed of the twin verification"),
    ) -> None:
        """Ingest a folder offline, detect and diagnose incidents (no servers)."""
        import logging

        from rich.console import Console

        from twinrca.cli.report import print_incidents
        from twinrca.runtime.analyse import analyse_folder
        from twinrca.runtime.logs import setup_logging

        output_folder(out, "--out")
        setup_logging("WARNING", json_lines=False)
        logging.getLogger("twinrca").setLevel(logging.WARNING)
        console = Console(width=max(Console().width, 150))
        result = analyse_folder(
            folder, topology, out, kpi_mappings=kpi_mapping, seed=seed, say=console.print
        )
        print_incidents(console, result.incidents)
        s = result.summary
        console.print(
            f"\nincidents: {s['incidents']}  written: {out}/incidents.json, "
            f"{out}/summary.json, store {s['store']}  ({s['wall_s']} s)"
        )
