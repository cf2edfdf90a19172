"""``twinrca demo`` (and ``twinrca dashboard``)."""

from __future__ import annotations

from pathlib import Path

import typer

from twinrca.cli.options import output_folder, ranged

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(
            Path("var/demo"), help="Folder for the store, scenario and results."
        ),
        cells: int = ranged(200, 10, 20000, "cells in the generated network"),
        days: float = ranged(3.0, 2.0, 366.0, "days of telemetry (>= 2 for seasonal baselines)"),
        faults: int = ranged(12, 1, 10000, "faults planted by the twin"),
        seed: int = ranged(7, 0, 2**32 - 1, "scenario seed"),
        open_dashboard: bool = typer.Option(
            False, "--dashboard", help="Start the dashboard on the results afterwards."
        ),
    ) -> None:
        """Run the whole pipeline on a generated scenario with planted faults (no servers)."""
        import logging

        from rich.console import Console

        from twinrca.cli.demo_run import run_demo
        from twinrca.cli.report import print_incidents, print_predictions
        from twinrca.runtime.logs import setup_logging

        output_folder(out, "--out")
        setup_logging("WARNING", json_lines=False)
        logging.getLogger("twinrca").setLevel(logging.WARNING)
        console = Console(width=max(Console().width, 150))
        result = run_demo(out, cells=cells, days=days, faults=faults, seed=seed, say=console.print)
        print_incidents(console, result.incidents, result.labels)
        print_predictions(console, result.predictions)
        s = result.summary
        console.print(
            f"\nplanted faults: {s['planted_faults']}  incidents: {s['incidents']}  "
            f"found as top cause: {s['faults_found_top1']}  in top 3: {s['faults_found_top3']}  "
            f"predictions: {s['predictions']} ({s['predictions_came_true']} came true)  "
            f"webhooks delivered: {s['webhooks_received']}  ({s['wall_s']} s)"
        )
        console.print(
            f"{s['paged_incidents']} pages for {s['planted_faults']} planted faults "
            f"({s['paged_per_fault']} per fault); {s['condition_incidents']} incidents kept "
            "as conditions (not paged)"
        )
        console.print(
            f"written: {out}/incidents.json, {out}/summary.json, {out}/webhooks.json, "
            f"store {s['store']}"
        )
        console.print(
            f"dashboard: http://127.0.0.1:8501 after `twinrca dashboard --store {s['store']}` "
            f"(or `make dashboard`, or `twinrca demo --dashboard`); API key {s['api_key']}"
        )
        if open_dashboard:
            from twinrca.dashboards.launch import launch

            code = launch(s["store"], 8501, tenant="demo", system_tenant="demo", wait=True)
            raise typer.Exit(code if isinstance(code, int) else 0)

    @app.command()
    def dashboard(
        store: str = typer.Option(
            "var/demo/twinrca.duckdb", help="DuckDB file or postgresql:// URL."
        ),
        port: int = ranged(8501, 1, 65535, "port on 127.0.0.1"),
        tenant: str = typer.Option("demo", help="Tenant whose data is shown."),
        system_tenant: str = typer.Option("demo", help="Tenant of the store holding API keys."),
        auth: str = typer.Option(
            "key", help="'key' (API key sign-in) or 'none' (loopback, one tenant)."
        ),
        backend: str = typer.Option(
            None, help="timescaledb or postgres for a URL (default timescaledb)."
        ),
    ) -> None:
        """Start the Streamlit RCA dashboard on stored results (e.g. the demo's)."""
        import json

        from twinrca.dashboards.launch import launch

        summary = Path(store).with_name("summary.json")
        if summary.is_file():
            key = json.loads(summary.read_text()).get("api_key")
            if key:
                typer.echo(f"API key of the demo tenant: {key}")
        typer.echo(f"dashboard on http://127.0.0.1:{port}")
        code = launch(
            store,
            port,
            backend=backend,
            auth=auth,
            tenant=tenant,
            system_tenant=system_tenant,
            wait=True,
        )
        raise typer.Exit(code if isinstance(code, int) else 0)
