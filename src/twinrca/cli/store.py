"""``twinrca store``: schema migrations and what the configured store is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from twinrca.core.settings import Settings
    from twinrca.store import Store

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


def _open(settings: Settings) -> Store:
    from twinrca.store import open_store

    cfg = settings.store
    return open_store(
        cfg.backend,
        url=cfg.url.get_secret_value(),
        path=cfg.embedded_path,
        tenant=settings.tenant,
        pool_max=cfg.pool_max,
        connect_timeout_s=cfg.connect_timeout_s,
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the store schema (safe to repeat)."""
    from twinrca.core.settings import load_settings

    settings = load_settings()
    with _open(settings) as store:
        version = store.migrate()
        typer.echo(f"{store.backend} store at schema version {version}")


@app.command()
def info() -> None:
    """Print the backend, server version, schema version and optional features in use."""
    from twinrca.core.settings import load_settings

    settings = load_settings()
    with _open(settings) as store:
        typer.echo(f"backend: {store.backend}")
        typer.echo(f"server: {store.server_version()}")
        version = store.schema_version()
        typer.echo(f"schema version: {version}")
        if version:
            used = ", ".join(
                f"{k}={'yes' if v else 'no'}" for k, v in sorted(store.features().items())
            )
            typer.echo(f"features: {used}")
        else:
            typer.echo("schema not created yet: run `twinrca store migrate`")


@app.command()
def export(
    kind: str = typer.Option(..., "--kind", help="kpis, alarms, logs or incidents."),
    out: Path = typer.Option(..., "--out", help="F.csv or F.parquet."),
    start: str | None = typer.Option(None, "--from", help="Start time (RFC 3339)."),
    end: str | None = typer.Option(None, "--to", help="End time (RFC 3339)."),
    element: str | None = typer.Option(None, "--element", help="One element (or source)."),
) -> None:
    """Write what was ingested (or diagnosed) as CSV or Parquet."""
    from twinrca.cli.options import output_file
    from twinrca.core.settings import load_settings
    from twinrca.store.export import export_frame, write_frame

    output_file(out, "--out")
    settings = load_settings()
    with _open(settings) as store:
        frame = export_frame(
            store, kind, start=_time(start, "--from"), end=_time(end, "--to"), element=element
        )
    path = write_frame(frame, out)
    typer.echo(f"{len(frame)} {kind} rows written to {path}")


def _time(text: str | None, option: str):
    import pandas as pd

    from twinrca.core.errors import ValidationError

    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise ValidationError("bad_time", f"{option} {text!r}: not a time") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts
