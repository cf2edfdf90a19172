"""``twinrca store``: schema migrations and what the configured store is."""

from __future__ import annotations

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
