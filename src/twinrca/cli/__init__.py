"""The ``twinrca`` command line (composition root).

Each command group lives in its own module of this package and exposes
``app: typer.Typer``; the groups are registered here by name. Heavy libraries are
imported inside the commands, so ``twinrca --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

from twinrca.core.errors import TwinRCAError

__all__ = ["app", "main"]

app = typer.Typer(
    name="twinrca",
    help="TwinRCA: fault diagnosis and prediction for mobile networks, verified on a digital twin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """TwinRCA: fault diagnosis and prediction for mobile networks, verified on a digital twin."""


# group name -> (module, help). A group is registered when its module exists.
_GROUPS: dict[str, tuple[str, str]] = {
    "ingest": ("twinrca.cli.ingest", "Kafka or files into the store."),
    "ems": ("twinrca.cli.ems", "Replay an EMS recording to Kafka."),
    "logs": ("twinrca.cli.logs", "Log templates (drain3)."),
    "twin": (
        "twinrca.cli.twin",
        "The network twin: generate labelled scenarios, calibrate.",
    ),
    "causal": ("twinrca.cli.causal", "Causal graphs of alarm types."),
    "rca": ("twinrca.cli.rca", "Root-cause ranking of metrics and entities."),
    "fmea": ("twinrca.cli.fmea", "FMEA tables: RPN, Action Priority, criticality."),
    "predict": ("twinrca.cli.predict", "Fault prediction with LightGBM."),
    "store": ("twinrca.cli.store", "Store schema and migrations."),
    "kpis": ("twinrca.cli.kpis", "Counters and the KPIs mapped from them."),
}

for _name, (_module, _help) in _GROUPS.items():
    if importlib.util.find_spec(_module) is not None:
        app.add_typer(importlib.import_module(_module).app, name=_name, help=_help)

# top-level commands (demo, serve, dashboard) live in their own modules too
for _module in ("twinrca.cli.demo", "twinrca.cli.serve", "twinrca.cli.analyse"):
    if importlib.util.find_spec(_module) is not None:
        importlib.import_module(_module).register(app)


@app.command()
def version() -> None:
    """Print the TwinRCA version and the versions of its key libraries."""
    from importlib.metadata import version as v

    for dist in ("twinrca", "kafka-python", "psycopg", "pgmpy", "dowhy", "lightgbm", "numba"):
        typer.echo(f"{dist} {v(dist)}")


def main() -> None:
    """Console-script entry: print TwinRCA errors as one clear line, not a traceback."""
    try:
        app()
    except TwinRCAError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
