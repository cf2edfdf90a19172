"""The ``twinrca`` command line (composition root).

Each command group lives in its own module of this package and exposes
``app: typer.Typer``; the groups are registered here by name. Heavy libraries are
imported inside the commands, so ``twinrca --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NoReturn

try:  # typer >= 0.20 ships its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer on plain click
    from click import exceptions as click_errors  # type: ignore[no-redef]
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


# group name -> (module, help). Every module must import: a missing or broken one fails
# the CLI at once (ImportError naming it) instead of silently dropping its commands.
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
    app.add_typer(importlib.import_module(_module).app, name=_name, help=_help)

# top-level commands (demo, serve, dashboard) live in their own modules too
for _module in ("twinrca.cli.demo", "twinrca.cli.serve", "twinrca.cli.analyse"):
    importlib.import_module(_module).register(app)


@app.command()
def version() -> None:
    """Print the TwinRCA version and the versions of its key libraries."""
    from importlib.metadata import version as v

    for dist in ("twinrca", "kafka-python", "psycopg", "pgmpy", "dowhy", "lightgbm", "numba"):
        typer.echo(f"{dist} {v(dist)}")


def _debug_requested(argv: list[str]) -> bool:
    """``--debug`` anywhere on the line (removed from it) or ``TWINRCA_DEBUG=1``."""
    found = "--debug" in argv
    while "--debug" in argv:
        argv.remove("--debug")
    return found or os.environ.get("TWINRCA_DEBUG", "") not in ("", "0", "false")


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr (a library's multi-line message is joined) and the exit code."""
    one_line = " | ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.secho(f"error: {one_line}", fg=typer.colors.RED, err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: one error path for every command.

    A user's mistake (a bad option value, a missing or wrong file, a TwinRCA error) ends
    with exit code 2 and one line naming what to fix; an internal error ends with exit
    code 1 and a short message, its traceback only with ``--debug``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        code = app(args=args, prog_name="twinrca", standalone_mode=False)
    except typer.Exit as exc:  # typer.Exit raised outside click's handling
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except click_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(2)
    except click_errors.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        hint = " (see --help)" if isinstance(exc, click_errors.UsageError) else ""
        _fail(f"{where}{exc.format_message()}{hint}", exc.exit_code)
    except TwinRCAError as exc:
        _fail(str(exc), 2)
    except (
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    ) as exc:
        if debug:
            raise
        _fail(f"{exc.strerror or exc}: {exc.filename}", 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:
        if debug:
            raise
        _fail(
            f"internal error ({type(exc).__name__}: {exc}); run again with --debug for the "
            "traceback and report it",
            1,
        )
    sys.exit(code if isinstance(code, int) else 0)
